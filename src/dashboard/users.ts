/** The users list for admins (the password hash never leaves the users module's login path). */
import type { PublicUser } from '../auth/index.ts';
import type { Queryable } from '../db/index.ts';

/** Users by id, paged, optionally those whose email or username contains `text`. */
export async function listUsers(
  db: Queryable,
  q: { text?: string; limit: number; offset: number },
): Promise<{ total: number; items: PublicUser[] }> {
  const filter = q.text ? `WHERE email ILIKE $1 OR username ILIKE $1` : '';
  const values = q.text ? [`%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`] : [];
  const total = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM ferry.users ${filter}`,
    values,
  );
  const { rows } = await db.query<PublicUser>(
    `SELECT id, email, username, full_name, role, is_active, created_at FROM ferry.users ${filter}
     ORDER BY id LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, q.limit, q.offset],
  );
  return { total: Number(total.rows[0]?.n ?? 0), items: rows };
}
