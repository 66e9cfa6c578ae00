// Platform operators: creating the first SUPER_ADMIN (scripts/create-super-admin.ts). Runs as
// the schema owner, outside any request (users and organizations are not tenant rows).
import { randomUUID } from 'node:crypto';
import { withClient } from '@lectern/kernel/db';
import { hashPassword, MIN_PASSWORD_LENGTH, normalizeEmail } from './modules/auth/auth.service.ts';

export interface SuperAdminOptions {
  email: string;
  password: string;
  displayName?: string;
  /** An organization to create too (if missing), so a fresh platform has one to sign in to. */
  organization?: { slug: string; name?: string };
}

export interface SuperAdminOutcome {
  userId: string;
  /** created: a new account; promoted: an existing account became SUPER_ADMIN; unchanged: it already was. */
  status: 'created' | 'promoted' | 'unchanged';
  organization: { id: string; slug: string; created: boolean } | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

/**
 * Creates the SUPER_ADMIN `email` with `password`, or makes an existing account one (its
 * password is then left as it is: only the account's owner changes it). Idempotent.
 */
export async function createSuperAdmin(ownerUrl: string, opts: SuperAdminOptions): Promise<SuperAdminOutcome> {
  const email = normalizeEmail(opts.email);
  if (!EMAIL.test(email) || email.length > 320) throw new Error(`${opts.email} is not a valid email address`);
  if (opts.password.length < MIN_PASSWORD_LENGTH || opts.password.length > 1024) throw new Error(`the password must be ${MIN_PASSWORD_LENGTH} to 1024 characters`);
  const slug = opts.organization?.slug.trim().toLowerCase();
  if (slug !== undefined && !SLUG.test(slug)) throw new Error('the organization slug must be 2-63 lowercase letters, digits or dashes');
  const passwordHash = await hashPassword(opts.password);
  return withClient(ownerUrl, async (client) => {
    try {
      await client.query('BEGIN');
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`lectern:super-admin:${email}`]);
      const found = await client.query<{ id: string; super_admin: boolean; password_hash: string | null }>(
        'select id, super_admin, password_hash from identity.users where email = $1 for update',
        [email],
      );
      let userId: string;
      let status: SuperAdminOutcome['status'];
      const existing = found.rows[0];
      if (!existing) {
        userId = randomUUID();
        await client.query(
          `insert into identity.users (id, email, display_name, password_hash, super_admin, time_zone) values ($1, $2, $3, $4, true, 'UTC')`,
          [userId, email, opts.displayName?.trim() || email.split('@')[0], passwordHash],
        );
        status = 'created';
      } else {
        userId = existing.id;
        status = existing.super_admin ? 'unchanged' : 'promoted';
        // An account only invited so far has no password: this one is its first.
        await client.query('update identity.users set super_admin = true, password_hash = coalesce(password_hash, $2) where id = $1', [userId, passwordHash]);
      }
      let organization: SuperAdminOutcome['organization'] = null;
      if (slug) {
        const org = await client.query<{ id: string }>('select id from identity.organizations where slug = $1', [slug]);
        if (org.rows[0]) organization = { id: org.rows[0].id, slug, created: false };
        else {
          const id = randomUUID();
          await client.query('insert into identity.organizations (id, slug, name) values ($1, $2, $3)', [id, slug, opts.organization?.name?.trim() || slug]);
          organization = { id, slug, created: true };
        }
      }
      await client.query('COMMIT');
      return { userId, status, organization };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}
