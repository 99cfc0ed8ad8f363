/**
 * Credentials for every principal kind, made straight in the store: a user with a JWT, an
 * admin user, a user-role API key acting as a user, the admin key. Shared by the authorization
 * tests so each builds the same principals the same way; and users signed up over HTTP.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { createApiKey, type Role } from '../../src/auth/index.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { insertUser } from '../../src/auth/users.ts';
import type { Queryable } from '../../src/db/index.ts';

let serial = 0;

/** A fresh user (no password login unless `password` is given) and its id. */
export async function makeUser(db: Queryable, role: Role = 'user', password?: string) {
  serial += 1;
  const name = `u${String(process.pid)}_${String(serial)}`;
  return insertUser(db, {
    email: `${name}@example.test`,
    username: name,
    fullName: null,
    passwordHash: password === undefined ? 'not-a-hash' : await hashPassword(password),
    role,
  });
}

/** A user-role API key acting as a fresh user; returns the key and the user's id. */
export async function makeUserKey(db: Queryable): Promise<{ key: string; userId: number }> {
  const user = await makeUser(db);
  const { key } = await createApiKey(db, {
    name: `key of ${user.username}`,
    role: 'user',
    userId: user.id,
  });
  return { key, userId: user.id };
}

/** The Authorization header for a bearer token or an API key. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Registers a user and logs in over `app.inject`; returns the access token and user id. */
export async function signUp(
  app: FastifyInstance,
  email: string,
  password = 'correct horse 1',
): Promise<{ token: string; userId: number }> {
  const registered = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, password },
  });
  if (registered.statusCode !== 201) throw new Error(`register: ${registered.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password },
  });
  if (login.statusCode !== 200) throw new Error(`login: ${login.body}`);
  return {
    token: login.json<{ access_token: string }>().access_token,
    userId: registered.json<{ id: number }>().id,
  };
}

/** A freshly signed-up user's Authorization header. */
export async function signedIn(
  app: FastifyInstance,
  email: string,
  password?: string,
): Promise<Record<string, string>> {
  return bearer((await signUp(app, email, password)).token);
}

/** A fresh account with `role`, signed in through the login route: its id and access token. */
export async function loginAs(
  app: FastifyInstance,
  db: Queryable,
  role: Role,
): Promise<{ userId: number; token: string }> {
  const password = 'correct horse 1';
  const user = await makeUser(db, role, password);
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: user.email, password },
  });
  if (login.statusCode !== 200) throw new Error(login.body);
  return { userId: user.id, token: login.json<{ access_token: string }>().access_token };
}

/**
 * A user-role key without a user, as one could exist before migration 0007: the store refuses
 * to make one now, so its constraint is dropped for the test. `migrate()` runs 0007 again, which
 * revokes such keys and puts the constraint back.
 */
export async function makeOwnerlessUserKey(
  db: Queryable,
): Promise<{ key: string; migrate: () => Promise<void> }> {
  await db.query('ALTER TABLE ferry.api_keys DROP CONSTRAINT api_keys_user_role_has_user');
  const { key } = await createApiKey(db, {
    name: 'legacy',
    role: 'user',
    userId: null as unknown as number,
  });
  const migration = readFileSync(
    new URL('../../src/db/migrations/0007_key_owners.sql', import.meta.url),
    'utf8',
  );
  return {
    key,
    async migrate() {
      for (const statement of migration.split(/;\s*(?:\n|$)/).filter((t) => t.trim())) {
        await db.query(statement);
      }
    },
  };
}
