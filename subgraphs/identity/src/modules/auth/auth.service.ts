// Sign-in, refresh-token rotation with reuse detection, sign-out, password changes and the
// session status the gateway asks for. Expected outcomes (bad credentials, throttled, an
// ended session) are returned as typed errors, never thrown.
import { randomUUID } from 'node:crypto';
import { hash as argonHash, verify as argonVerify, type Options as ArgonOptions } from '@node-rs/argon2';
import {
  AppError, authorize, badInput, forbidden, idempotent, inTenant, principalOf, type Actor, type Role, type UnitOfWork,
} from '@lectern/kernel';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import { LockMode, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import type { ServiceRuntime } from '../../runtime.ts';
import { identityError, type IdentityError } from '../../errors.ts';
import { Organization } from '../organization/organization.entity.ts';
import { User } from '../user/user.entity.ts';
import { Membership } from '../membership/membership.entity.ts';
import { RefreshToken } from './refresh-token.entity.ts';
import { LoginThrottle } from './throttle.ts';
import { hashSecret, mintOpaque, parseOpaque, sameHash } from './secrets.ts';

// Argon2id (algorithm 2), OWASP's minimum cost profile.
const ARGON: ArgonOptions = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
export const MIN_PASSWORD_LENGTH = 12;
const REFRESH_PREFIX = 'lrt';
const INVALID_LOGIN = 'Invalid email, password or organization';

export const hashPassword = (password: string) => argonHash(password, ARGON);
// Verified against when the account does not exist, so both paths cost the same.
let dummyHash: Promise<string> | undefined;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** A new session: tokens, who and where. */
export interface AuthResult {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  userId: string;
  organizationId: string;
  roles: Role[];
}

/** What a session mutation answers (the AuthPayload): a session, or errors (tokens null). */
export interface AuthOutcome {
  accessToken?: string | null;
  accessTokenExpiresAt?: string | null;
  refreshToken?: string | null;
  refreshTokenExpiresAt?: string | null;
  userId?: string | null;
  organizationId?: string | null;
  roles?: Role[] | null;
  retryAfterSeconds?: number | null;
  errors: IdentityError[];
}

export const failed = (error: IdentityError, extra: Partial<AuthOutcome> = {}): AuthOutcome => ({ ...extra, errors: [error] });
const signedIn = (r: AuthResult): AuthOutcome => ({ ...r, errors: [] });

/** The password rule, as a typed outcome (null when the password is acceptable). */
export function passwordProblem(password: string | null | undefined, field: string): IdentityError | null {
  if (!password || password.length < MIN_PASSWORD_LENGTH) return identityError('WEAK_PASSWORD', `Password must be at least ${MIN_PASSWORD_LENGTH} characters`, field);
  if (password.length > 1024) return identityError('WEAK_PASSWORD', 'Password is too long (1024 characters at most)', field);
  return null;
}

const throttled = (retryAfterSeconds: number, message: string): AuthOutcome =>
  failed(identityError('THROTTLED', `${message}; try again in ${retryAfterSeconds} seconds`), { retryAfterSeconds });

export class AuthService {
  #rt: ServiceRuntime;
  #throttle: LoginThrottle;
  constructor(rt: ServiceRuntime) {
    this.#rt = rt;
    const env = rt.deps.env;
    this.#throttle = new LoginThrottle(rt.deps.redis, {
      maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxAttemptsPerIp: env.LOGIN_MAX_ATTEMPTS_PER_IP,
      windowSeconds: env.LOGIN_THROTTLE_WINDOW_SECONDS,
    });
  }

  /**
   * Runs a session mutation once per idempotency key. The key is recorded under the request's
   * own tenant (the unit of work's: null for anonymous callers, the organization of a signed-in
   * caller, as RLS on idempotency_keys requires) and is private to the caller.
   */
  #once<T, I extends { idempotencyKey?: string | null }>(
    uow: UnitOfWork,
    actor: Actor,
    op: string,
    input: I,
    fn: (em: EntityManager) => Promise<T>,
    opts: { ttlHours?: number; scope?: string } = {},
  ): Promise<T> {
    const { idempotencyKey, ...rest } = input;
    // Only login may go without a key (its SDL says so): a retried sign-in is a second session.
    if (!idempotencyKey) return uow.write(fn);
    return uow.write((em) =>
      idempotent(
        em,
        { tenantId: uow.tenantId, scope: `${op}:${opts.scope ?? principalOf(actor)}`, key: idempotencyKey, input: rest, ttlHours: opts.ttlHours ?? 1, protect: this.#rt.sealer },
        () => fn(em),
      ),
    );
  }

  async login(uow: UnitOfWork, actor: Actor, input: { email: string; password: string; organizationSlug: string; idempotencyKey?: string | null }): Promise<AuthOutcome> {
    const email = normalizeEmail(input.email);
    // An anonymous caller's key is private to the email signing in, so two people who pick the
    // same key never meet.
    return this.#once(uow, actor, 'login', { ...input, email }, async (em) => {
      const limited = await this.#throttle.check(email, actor.ip);
      if (limited) return throttled(limited.retryAfterSeconds, limited.message);
      const orm = this.#rt.deps.orm;
      // Organizations and users are not tenant rows: the write's own transaction reads them.
      const org = await em.findOne(Organization, { slug: input.organizationSlug.trim().toLowerCase() });
      const user = await em.findOne(User, { email });
      dummyHash ??= hashPassword('not-a-real-password-0000');
      const ok = await argonVerify(user?.passwordHash ?? (await dummyHash), input.password).catch(() => false);
      const result =
        org && user?.passwordHash && ok
          ? await inTenant(orm, org.id, async (t) => {
              const tem = await t.em();
              const membership = await tem.findOne(Membership, { userId: user.id, status: 'ACTIVE' });
              if (!membership && !user.superAdmin) return null;
              return this.#issue(t, user, org.id, membership?.roles ?? [], randomUUID());
            })
          : null;
      if (!result) {
        await this.#throttle.failed(email);
        return failed(identityError('INVALID_CREDENTIALS', INVALID_LOGIN));
      }
      await this.#throttle.succeeded(email);
      return signedIn(result);
    }, { scope: actor.kind === 'anonymous' ? `anonymous:${email}` : undefined });
  }

  /** Issues an access token and a new refresh token of `familyId` inside `uow` (tenant-scoped). */
  async #issue(uow: UnitOfWork, user: Pick<User, 'id' | 'superAdmin'>, tenantId: string, roles: Role[], familyId: string): Promise<AuthResult> {
    const em = await uow.em();
    const id = randomUUID();
    const refresh = mintOpaque(REFRESH_PREFIX, tenantId, id);
    const refreshExpires = new Date(Date.now() + this.#rt.deps.env.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
    em.create(RefreshToken, { id, tenantId, userId: user.id, familyId, tokenHash: refresh.hash, expiresAt: refreshExpires, usedAt: null, revokedAt: null });
    await em.flush();
    const access = await this.#rt.tokens.issue({ sub: user.id, tid: tenantId, roles, sa: user.superAdmin, sid: familyId });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refreshExpires.toISOString(),
      userId: user.id,
      organizationId: tenantId,
      roles,
    };
  }

  /** Signs a user in to `tenantId` after they proved themselves another way (accepting an invitation). */
  issueFor(uow: UnitOfWork, user: Pick<User, 'id' | 'superAdmin'>, tenantId: string, roles: Role[]) {
    return this.#issue(uow, user, tenantId, roles, randomUUID());
  }

  async refresh(uow: UnitOfWork, actor: Actor, input: { refreshToken: string; idempotencyKey: string }): Promise<AuthOutcome> {
    return this.#once(uow, actor, 'refreshSession', input, async () => {
      const invalid = failed(identityError('SESSION_INVALID', 'Refresh token is invalid or expired; sign in again', 'refreshToken'));
      const parts = parseOpaque(REFRESH_PREFIX, input.refreshToken);
      if (!parts) return invalid;
      const outcome = await inTenant(this.#rt.deps.orm, parts.tenantId, async (t) => {
        const tem = await t.em();
        const row = await tem.findOne(RefreshToken, { id: parts.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!row || !sameHash(row.tokenHash, hashSecret(input.refreshToken)) || row.revokedAt || row.expiresAt < new Date()) {
          return { error: 'invalid' as const };
        }
        if (row.usedAt) {
          // A used token presented again: someone holds a copy. End the whole session.
          await tem.nativeUpdate(RefreshToken, { familyId: row.familyId, revokedAt: null }, { revokedAt: new Date() });
          return { error: 'reused' as const };
        }
        row.usedAt = new Date();
        const user = await tem.findOneOrFail(User, { id: row.userId });
        const membership = await tem.findOne(Membership, { userId: user.id, status: 'ACTIVE' });
        if (!membership && !user.superAdmin) {
          row.revokedAt = new Date();
          return { error: 'invalid' as const };
        }
        return { result: await this.#issue(t, user, parts.tenantId, membership?.roles ?? [], row.familyId) };
      });
      if (outcome.result) return signedIn(outcome.result);
      if (outcome.error === 'reused') {
        return failed(identityError('SESSION_REUSED', 'This refresh token was already used; the session has been ended for safety. Sign in again.', 'refreshToken'));
      }
      return invalid;
    });
  }

  /** Ends the refresh token's session (its whole family): idempotent, and `ok` whatever the token. */
  async logout(uow: UnitOfWork, actor: Actor, input: { refreshToken: string; idempotencyKey: string }) {
    return this.#once(uow, actor, 'logout', input, async () => {
      const parts = parseOpaque(REFRESH_PREFIX, input.refreshToken);
      if (parts) {
        await inTenant(this.#rt.deps.orm, parts.tenantId, async (t) => {
          const tem = await t.em();
          const row = await tem.findOne(RefreshToken, { id: parts.id });
          if (row && sameHash(row.tokenHash, hashSecret(input.refreshToken))) {
            await tem.nativeUpdate(RefreshToken, { familyId: row.familyId, revokedAt: null }, { revokedAt: new Date() });
          }
        });
      }
      return { ok: true, errors: [] as IdentityError[] };
    });
  }

  /**
   * The signed-in person changes their password: every session of theirs ends (in every
   * organization) and a new one is issued for the current organization.
   */
  async changePassword(uow: UnitOfWork, actor: Actor, input: { currentPassword: string; newPassword: string; idempotencyKey: string }): Promise<AuthOutcome> {
    authorize(actor, {});
    if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only a signed-in person changes their password');
    const userId = actor.userId;
    return this.#once(uow, actor, 'changePassword', input, async (em) => {
      const user = await em.findOne(User, { id: userId });
      if (!user) throw badInput('No such user', 'currentPassword');
      const limited = await this.#throttle.check(user.email, actor.ip);
      if (limited) return throttled(limited.retryAfterSeconds, limited.message);
      const ok = !!user.passwordHash && (await argonVerify(user.passwordHash, input.currentPassword).catch(() => false));
      if (!ok) {
        await this.#throttle.failed(user.email);
        return failed(identityError('WRONG_PASSWORD', 'The current password is wrong', 'currentPassword'));
      }
      const weak = passwordProblem(input.newPassword, 'newPassword');
      if (weak) return failed(weak);
      await this.#throttle.succeeded(user.email);
      user.passwordHash = await hashPassword(input.newPassword);
      await em.flush();
      await em.execute('select end_user_sessions(?)', [user.id]);
      const membership = await em.findOne(Membership, { userId: user.id, status: 'ACTIVE' });
      return signedIn(await this.#issue(uow, user, actor.tenantId, membership?.roles ?? [], randomUUID()));
    });
  }

  /** Which of the session ids (access tokens' `sid`) have ended or were never issued (the gateway asks). */
  static async endedSessions(orm: MikroORM, sessionIds: string[]): Promise<{ revoked: string[] }> {
    const ids = [...new Set(sessionIds.map((s) => s.toLowerCase()))];
    if (ids.length === 0) return { revoked: [] };
    const rows = await inTenant(orm, null, (uow) => uow.statement<{ id: string }>('select id from sessions_ended(?::uuid[]) as t(id)', [uuidArrayLiteral(ids)]));
    return { revoked: rows.map((r) => String(r.id)) };
  }
}

export { AppError };
