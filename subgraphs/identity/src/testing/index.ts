// Seed builders for tests and the demo: organizations, users, memberships, straight
// through identity's own entities (as the owner of these tables would).
import { inTenant, type Role } from '@lectern/kernel';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Organization } from '../modules/organization/organization.entity.ts';
import { User } from '../modules/user/user.entity.ts';
import { Membership } from '../modules/membership/membership.entity.ts';
import { hashPassword } from '../modules/auth/auth.service.ts';
import { TokenIssuer } from '../modules/auth/tokens.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { RefreshToken } from '../modules/auth/refresh-token.entity.ts';
import { DEV_IDENTITY_PRIVATE_KEY } from '@lectern/kernel/dev-keys';

export interface SeededUser {
  id: string;
  email: string;
  password: string;
  roles: Role[];
}

export interface SeededOrganization {
  id: string;
  slug: string;
  name: string;
}

let cachedHash: { password: string; hash: Promise<string> } | undefined;
const hashOnce = (password: string) => {
  // argon2id is slow on purpose; seeds reuse one hash for the shared test password.
  if (cachedHash?.password !== password) cachedHash = { password, hash: hashPassword(password) };
  return cachedHash.hash;
};

export const TEST_PASSWORD = 'correct-horse-battery';

export async function seedOrganization(orm: MikroORM, opts: { slug: string; name?: string }): Promise<SeededOrganization> {
  return inTenant(orm, null, async (uow) => {
    const em = await uow.em();
    const existing = await em.findOne(Organization, { slug: opts.slug });
    if (existing) return { id: existing.id, slug: existing.slug, name: existing.name };
    const org = em.create(Organization, { slug: opts.slug, name: opts.name ?? opts.slug });
    await em.flush();
    return { id: org.id, slug: org.slug, name: org.name };
  });
}

/** A user (created if new) with a membership in `org` holding `roles`. */
export async function seedMember(
  orm: MikroORM,
  org: SeededOrganization,
  opts: { email: string; displayName?: string; roles: Role[]; password?: string; superAdmin?: boolean },
): Promise<SeededUser> {
  const password = opts.password ?? TEST_PASSWORD;
  const passwordHash = await hashOnce(password);
  const email = opts.email.toLowerCase();
  return inTenant(orm, org.id, async (uow) => {
    const em = await uow.em();
    const user =
      (await em.findOne(User, { email })) ??
      em.create(User, { email, displayName: opts.displayName ?? email.split('@')[0]!, passwordHash, superAdmin: opts.superAdmin ?? false, timeZone: 'UTC' });
    // Memberships reference users by id (no ORM relation), so the user row goes first.
    await em.flush();
    const membership = await em.findOne(Membership, { userId: user.id });
    if (!membership) em.create(Membership, { tenantId: org.id, userId: user.id, roles: opts.roles, status: 'ACTIVE' });
    await em.flush();
    return { id: user.id, email, password, roles: opts.roles };
  });
}

/** An organization with an admin, an instructor and two learners. */
export async function seedOrganizationWithPeople(orm: MikroORM, slug: string, domain = `${slug}.example`) {
  const org = await seedOrganization(orm, { slug, name: slug.replace(/(^|-)(\w)/g, (_m, s: string, c: string) => `${s ? ' ' : ''}${c.toUpperCase()}`) });
  const admin = await seedMember(orm, org, { email: `admin@${domain}`, displayName: 'Ada Admin', roles: ['ORG_ADMIN'] });
  const instructor = await seedMember(orm, org, { email: `instructor@${domain}`, displayName: 'Ivan Instructor', roles: ['INSTRUCTOR'] });
  const learner = await seedMember(orm, org, { email: `learner1@${domain}`, displayName: 'Lena Learner', roles: ['LEARNER'] });
  const learner2 = await seedMember(orm, org, { email: `learner2@${domain}`, displayName: 'Leo Learner', roles: ['LEARNER'] });
  return { org, admin, instructor, learner, learner2 };
}

/**
 * `count` learners (or other roles) in `org` at once, for load tests and benchmarks:
 * emails `<prefix>-<n>@<domain>`, all with the shared test password.
 */
export async function seedManyMembers(
  orm: MikroORM,
  org: SeededOrganization,
  opts: { count: number; prefix?: string; domain?: string; roles?: Role[] },
): Promise<SeededUser[]> {
  const passwordHash = await hashOnce(TEST_PASSWORD);
  const roles = opts.roles ?? ['LEARNER'];
  const prefix = opts.prefix ?? 'learner';
  const domain = opts.domain ?? `${org.slug}.example`;
  const out: SeededUser[] = [];
  for (let start = 0; start < opts.count; start += 1000) {
    const batch = await inTenant(orm, org.id, (uow) =>
      uow.write(async (em) => {
        const rows: SeededUser[] = [];
        for (let n = start; n < Math.min(opts.count, start + 1000); n++) {
          const email = `${prefix}-${n}@${domain}`.toLowerCase();
          const user = em.create(User, { id: randomUUID(), email, displayName: `${prefix} ${n}`, passwordHash, superAdmin: false, timeZone: 'UTC' });
          rows.push({ id: user.id, email, password: TEST_PASSWORD, roles });
        }
        // Memberships reference users by id (no ORM relation), so the users go first.
        await em.flush();
        for (const row of rows) em.create(Membership, { tenantId: org.id, userId: row.id, roles, status: 'ACTIVE' });
        return rows;
      }),
    );
    out.push(...batch);
  }
  return out;
}

const issuers = new Map<number, Promise<TokenIssuer>>();
/**
 * An access token for `user` in `org`, signed with the development identity key, of a real
 * session (a live refresh-token family, as a login opens; its refresh token is never handed
 * out), so the gateway's session check accepts it, without a sign-in per user.
 */
export async function accessTokenFor(orm: MikroORM, user: { id: string; roles: Role[] }, org: { id: string }, ttlSeconds = 900): Promise<string> {
  const sid = randomUUID();
  await inTenant(orm, org.id, async (uow) => {
    const em = await uow.em();
    em.create(RefreshToken, {
      id: randomUUID(), tenantId: org.id, userId: user.id, familyId: sid,
      tokenHash: randomBytes(32).toString('base64url'), expiresAt: new Date(Date.now() + ttlSeconds * 1000), usedAt: null, revokedAt: null,
    });
    await em.flush();
  });
  let issuer = issuers.get(ttlSeconds);
  if (!issuer) issuers.set(ttlSeconds, (issuer = TokenIssuer.create(DEV_IDENTITY_PRIVATE_KEY, ttlSeconds)));
  const { token } = await (await issuer).issue({ sub: user.id, tid: org.id, roles: user.roles, sa: false, sid });
  return token;
}
