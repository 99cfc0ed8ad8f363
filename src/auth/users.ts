/** The users table: one function per operation. */
import type { Queryable } from '../db/index.ts';
import type { Role } from './principal.ts';

/** A user as the API shows it (never with the password hash). */
export interface PublicUser {
  id: number;
  email: string;
  username: string;
  full_name: string | null;
  role: Role;
  is_active: boolean;
  created_at: Date;
}

/** A user with the hash, for login only. */
export interface UserRecord extends PublicUser {
  password_hash: string;
}

const publicColumns = 'id, email, username, full_name, role, is_active, created_at';

/** Inserts a user; a taken email or username surfaces as the unique-violation error (23505). */
export async function insertUser(
  db: Queryable,
  user: {
    email: string;
    username: string;
    fullName: string | null;
    passwordHash: string;
    role: Role;
  },
): Promise<PublicUser> {
  const { rows } = await db.query<PublicUser>(
    `INSERT INTO ferry.users (email, username, full_name, password_hash, role)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${publicColumns}`,
    [user.email, user.username, user.fullName, user.passwordHash, user.role],
  );
  const row = rows[0];
  if (!row) throw new Error('user insert returned no row');
  return row;
}

/** Which of email / username is already taken (case-insensitive). */
export async function takenFields(
  db: Queryable,
  email: string,
  username: string,
): Promise<{ email: boolean; username: boolean }> {
  const { rows } = await db.query<{ email: boolean; username: boolean }>(
    `SELECT bool_or(lower(email) = lower($1)) AS email, bool_or(lower(username) = lower($2)) AS username
     FROM ferry.users WHERE lower(email) = lower($1) OR lower(username) = lower($2)`,
    [email, username],
  );
  return { email: rows[0]?.email === true, username: rows[0]?.username === true };
}

/** Finds a user by email or username (case-insensitive). */
export async function findUserByLogin(
  db: Queryable,
  login: string,
): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRecord>(
    `SELECT ${publicColumns}, password_hash FROM ferry.users
     WHERE lower(email) = lower($1) OR lower(username) = lower($1) LIMIT 1`,
    [login],
  );
  return rows[0];
}

export async function findUserById(db: Queryable, id: number): Promise<PublicUser | undefined> {
  const { rows } = await db.query<PublicUser>(
    `SELECT ${publicColumns} FROM ferry.users WHERE id = $1`,
    [id],
  );
  return rows[0];
}
