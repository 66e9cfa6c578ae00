// Read-only user rows for responses: plain objects from an explicit column list, no change
// tracking (writes go through the User entity in the services). users has no tenant_id: a
// user belongs to organizations through memberships, which are tenant rows and are named by
// tenant_id = ? in every statement here (DESIGN rule 2). Each statement is one round trip of
// its own with the tenant setting (kernel uow.statement).
import type { Statements } from '@lectern/kernel';
import { timestamp, uuidArrayLiteral } from '@lectern/kernel/rows';
import type { User } from './user.entity.ts';

/**
 * A user as responses see it: the columns of User but the password hash, which is never read
 * here (undefined, so a row stands where the schema's User model is expected).
 */
export type UserRecord = Pick<User, 'id' | 'email' | 'displayName' | 'superAdmin' | 'timeZone' | 'locale' | 'createdAt'> & { passwordHash?: undefined };

type Row = Record<'id' | 'email' | 'display_name' | 'super_admin' | 'time_zone' | 'locale' | 'created_at', unknown>;
const COLUMNS = 'u.id, u.email, u.display_name, u.super_admin, u.time_zone, u.locale, u.created_at';


const parse = (r: Row): UserRecord => ({
  id: String(r.id),
  email: String(r.email),
  displayName: String(r.display_name),
  superAdmin: r.super_admin === true || r.super_admin === 't',
  timeZone: String(r.time_zone),
  locale: r.locale == null ? null : String(r.locale),
  createdAt: timestamp(r.created_at),
  passwordHash: undefined,
});

/** Users by id, whoever they are (callers reach them only through something they may see). */
export async function usersById(db: Statements, ids: readonly string[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.statement<Row>(`SELECT ${COLUMNS} FROM users u WHERE u.id = ANY(?::uuid[])`, [uuidArrayLiteral(ids)]);
  return rows.map(parse);
}

/**
 * The users among `ids` the caller may see: themself, and the ACTIVE members of the caller's
 * organization (not someone only invited, whose profile stays theirs until they accept, nor a
 * former member). One statement for the whole batch.
 */
export async function visibleUsersById(
  db: Statements,
  tenantId: string,
  selfId: string | null,
  ids: readonly string[],
): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.statement<Row>(
    `SELECT ${COLUMNS} FROM users u
      WHERE u.id = ANY(?::uuid[])
        AND (u.id = ?::uuid OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = ? AND m.user_id = u.id AND m.status = 'ACTIVE'))`,
    [uuidArrayLiteral(ids), selfId, tenantId],
  );
  return rows.map(parse);
}
