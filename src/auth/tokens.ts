/**
 * Access tokens: HS256 JWTs (jose) carrying the user, role and login family. Verification
 * accepts HS256 only, so `alg: none` and algorithm swaps are refused. The signing secret comes
 * from `auth.jwt_secret`, or is generated once and kept in the store (shared by every node).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Db } from '../db/index.ts';
import type { Role } from './principal.ts';

/** What an access token says about its bearer. */
export interface AccessClaims {
  userId: number;
  role: Role;
  /** Login family: revoking it (logout, refresh reuse) invalidates the token at once. */
  familyId: string;
}

/** Signs and verifies access tokens with one key. */
export interface TokenSigner {
  sign(claims: AccessClaims, ttlSeconds: number, now: Date): Promise<string>;
  /** The claims, or undefined for a malformed, tampered, expired or foreign token. */
  verify(token: string, now: Date): Promise<AccessClaims | undefined>;
}

const issuer = 'ferry';

export function makeTokenSigner(secret: string): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(claims, ttlSeconds, now) {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({ role: claims.role, sid: claims.familyId, typ: 'access' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(String(claims.userId))
        .setIssuer(issuer)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(key);
    },
    async verify(token, now) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer,
          currentDate: now,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        const userId = Number(payload.sub);
        const role = payload.role;
        const familyId = payload.sid;
        if (payload.typ !== 'access' || !Number.isInteger(userId) || typeof familyId !== 'string')
          return undefined;
        if (role !== 'admin' && role !== 'user') return undefined;
        return { userId, role, familyId };
      } catch {
        return undefined;
      }
    },
  };
}

/** The configured secret, or the one generated on first start and kept in the store. */
export async function loadJwtSecret(db: Db, configured: string): Promise<string> {
  if (configured) return configured;
  const fresh = randomBytes(48).toString('base64url');
  await db.query(
    `INSERT INTO ferry.secrets (name, value) VALUES ('jwt', $1) ON CONFLICT (name) DO NOTHING`,
    [fresh],
  );
  const { rows } = await db.query<{ value: string }>(
    `SELECT value FROM ferry.secrets WHERE name = 'jwt'`,
  );
  const value = rows[0]?.value;
  if (!value) throw new Error('jwt secret missing after insert');
  return value;
}
