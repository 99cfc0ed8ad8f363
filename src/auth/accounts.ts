/**
 * Accounts: register, login, refresh, logout, and turning an access token into a principal.
 * No HTTP here; routes call these and map the FerryErrors they throw.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import type { Principal, Role } from './principal.ts';
import { makeRateLimiter } from './rate-limit.ts';
import {
  familyIsLive,
  familyOf,
  revokeFamily,
  rotateToken,
  startFamily,
} from './refresh-tokens.ts';
import type { TokenSigner } from './tokens.ts';
import {
  findUserById,
  findUserByLogin,
  insertUser,
  takenFields,
  type PublicUser,
} from './users.ts';

/** What login and refresh return (the PulseBoard token response). */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface RegisterInput {
  email: string;
  password: string;
  full_name?: string | null | undefined;
  username?: string | undefined;
}

export interface AccountsDeps {
  db: Db;
  signer: TokenSigner;
  config: Config['auth'];
  /** The clock; tests pass a fake one to expire tokens without waiting. */
  now: () => Date;
  /** Called once a login family was revoked here (this node's credential cache forgets). */
  revoked?: () => void;
}

export type Accounts = ReturnType<typeof makeAccounts>;

export function makeAccounts(deps: AccountsDeps) {
  const { db, signer, config, now } = deps;
  const windowMs = config.login_window_seconds * 1000;
  const perAccount = makeRateLimiter(config.login_attempts_per_account, windowMs);
  const perAddress = makeRateLimiter(config.login_attempts_per_ip, windowMs);

  async function register(input: RegisterInput, role: Role = 'user'): Promise<PublicUser> {
    const problem = passwordProblem(input.password);
    if (problem) throw new FerryError('FERRY_ERR_PASSWORD_POLICY', { problem });
    const email = input.email.trim();
    let username = (input.username ?? defaultUsername(email)).trim();
    const taken = await takenFields(db, email, username);
    if (taken.email) throw new FerryError('FERRY_ERR_EMAIL_TAKEN');
    if (taken.username && input.username === undefined) {
      // A derived name may collide (jo@a.example, jo@b.example); a chosen one is the user's call.
      username = `${username}_${randomBytes(3).toString('hex')}`;
    } else if (taken.username) throw new FerryError('FERRY_ERR_USERNAME_TAKEN');
    const passwordHash = await hashPassword(input.password);
    try {
      return await insertUser(db, {
        email,
        username,
        fullName: input.full_name ?? null,
        passwordHash,
        role,
      });
    } catch (error) {
      // Lost a race with a concurrent registration: the unique index decides.
      if ((error as { code?: string }).code !== '23505') throw error;
      const again = await takenFields(db, email, username);
      throw new FerryError(again.email ? 'FERRY_ERR_EMAIL_TAKEN' : 'FERRY_ERR_USERNAME_TAKEN');
    }
  }

  async function issuePair(
    userId: number,
    role: Role,
    familyId: string,
    refreshToken: string,
  ): Promise<TokenPair> {
    const ttl = config.access_token_ttl_seconds;
    const access = await signer.sign({ userId, role, familyId }, ttl, now());
    return {
      access_token: access,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: ttl,
    };
  }

  /** Same 401 for an unknown user and a wrong password, and the same time spent on both. */
  async function login(loginName: string, password: string, address: string): Promise<TokenPair> {
    const at = now().getTime();
    const user = await findUserByLogin(db, loginName.trim());
    // One count per account, whether it is named by username or email.
    const accountKey = `account:${user ? String(user.id) : loginName.trim().toLowerCase()}`;
    const addressKey = `address:${address}`;
    const wait = Math.max(
      perAccount.retryAfter(accountKey, at),
      perAddress.retryAfter(addressKey, at),
    );
    if (wait > 0)
      throw new FerryError('FERRY_ERR_RATE_LIMITED', { retryAfter: wait }, { retryAfter: wait });
    const valid = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
    if (!user || !valid) {
      perAccount.hit(accountKey, at);
      perAddress.hit(addressKey, at);
      throw new FerryError('FERRY_ERR_INVALID_CREDENTIALS');
    }
    if (!user.is_active) throw new FerryError('FERRY_ERR_ACCOUNT_INACTIVE');
    perAccount.reset(accountKey);
    const family = await startFamily(db, user.id, config.refresh_token_ttl_seconds, now());
    return issuePair(user.id, user.role, family.familyId, family.token);
  }

  async function refresh(refreshToken: string): Promise<TokenPair> {
    const result = await db.transaction((tx) =>
      rotateToken(tx, refreshToken, config.refresh_token_ttl_seconds, now()),
    );
    if (!result.ok && result.reason === 'reused') deps.revoked?.();
    if (!result.ok) throw new FerryError('FERRY_ERR_REFRESH_INVALID', { reason: result.reason });
    const user = await findUserById(db, result.userId);
    if (!user?.is_active) throw new FerryError('FERRY_ERR_ACCOUNT_INACTIVE');
    return issuePair(user.id, user.role, result.familyId, result.token);
  }

  /** Ends the login family of the refresh token given, or of the access token used. */
  async function logout(principal: Principal, refreshToken: string | undefined): Promise<void> {
    if (principal.userId === undefined) return;
    const familyId = refreshToken
      ? await familyOf(db, refreshToken, principal.userId)
      : principal.familyId;
    if (familyId) await revokeFamily(db, familyId, 'logout', now());
    deps.revoked?.();
  }

  /** The principal for a bearer JWT; undefined when the token or its login is no longer valid. */
  async function principalForToken(token: string): Promise<Principal | undefined> {
    const claims = await signer.verify(token, now());
    if (!claims) return undefined;
    if (!(await familyIsLive(db, claims.familyId, claims.userId))) return undefined;
    return {
      kind: 'user',
      role: claims.role,
      id: claims.userId,
      userId: claims.userId,
      familyId: claims.familyId,
      label: `user ${claims.userId}`,
    };
  }

  return {
    register,
    login,
    refresh,
    logout,
    principalForToken,
    me: (id: number) => findUserById(db, id),
  };
}

/** `jane.doe+x@example.com` → `jane.doe_x`: the local part, with characters outside [\w.-] replaced. */
export function defaultUsername(email: string): string {
  const local = email.split('@')[0] ?? email;
  return local.replace(/[^\w.-]/g, '_').slice(0, 50) || 'user';
}
