// Sign-in, refresh-token rotation with reuse detection, and sign-out.
import { randomUUID } from 'node:crypto';
import { hash as argonHash, verify as argonVerify, type Options as ArgonOptions } from '@node-rs/argon2';
import { AppError, badInput, idempotent, inTenant, unauthenticated, type Actor, type Role, type UnitOfWork } from '@lectern/kernel';
import { LockMode } from '@mikro-orm/postgresql';
import type { ServiceRuntime } from '../../runtime.ts';
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

export interface AuthResult {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  userId: string;
  organizationId: string;
  roles: Role[];
}

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

  async login(uow: UnitOfWork, actor: Actor, input: { email: string; password: string; organizationSlug: string; idempotencyKey: string }) {
    const email = normalizeEmail(input.email);
    const { idempotencyKey, ...rest } = input;
    return uow.write((em) =>
      idempotent(
        em,
        { tenantId: null, scope: 'login', key: idempotencyKey, input: { ...rest, email }, ttlHours: 1, protect: this.#rt.sealer },
        async () => {
          await this.#throttle.check(email, actor.ip);
          const [org, user] = await Promise.all([
            em.findOne(Organization, { slug: input.organizationSlug.trim().toLowerCase() }),
            em.findOne(User, { email }),
          ]);
          dummyHash ??= hashPassword('not-a-real-password-0000');
          const ok = await argonVerify(user?.passwordHash ?? (await dummyHash), input.password).catch(() => false);
          if (!org || !user?.passwordHash || !ok) {
            await this.#throttle.failed(email);
            throw unauthenticated(INVALID_LOGIN);
          }
          const result = await inTenant(this.#rt.deps.orm, org.id, async (t) => {
            const tem = await t.em();
            const membership = await tem.findOne(Membership, { userId: user.id, status: 'ACTIVE' });
            if (!membership && !user.superAdmin) return null;
            return this.#issue(t, user, org.id, membership?.roles ?? [], randomUUID());
          });
          if (!result) {
            await this.#throttle.failed(email);
            throw unauthenticated(INVALID_LOGIN);
          }
          await this.#throttle.succeeded(email);
          return result;
        },
      ),
    );
  }

  /** Issues an access token and a new refresh token of `familyId` inside `uow` (tenant-scoped). */
  async #issue(uow: UnitOfWork, user: User, tenantId: string, roles: Role[], familyId: string): Promise<AuthResult> {
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
  issueFor(uow: UnitOfWork, user: User, tenantId: string, roles: Role[]) {
    return this.#issue(uow, user, tenantId, roles, randomUUID());
  }

  async refresh(uow: UnitOfWork, input: { refreshToken: string; idempotencyKey: string }) {
    const { idempotencyKey, ...rest } = input;
    return uow.write((em) =>
      idempotent(em, { tenantId: null, scope: 'refreshSession', key: idempotencyKey, input: rest, ttlHours: 1, protect: this.#rt.sealer }, async () => {
        const parts = parseOpaque(REFRESH_PREFIX, input.refreshToken);
        if (!parts) throw unauthenticated('Refresh token is invalid or expired');
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
        if ('error' in outcome) {
          throw unauthenticated(
            outcome.error === 'reused'
              ? 'This refresh token was already used; the session has been ended for safety. Sign in again.'
              : 'Refresh token is invalid or expired',
          );
        }
        return outcome.result;
      }),
    );
  }

  async logout(uow: UnitOfWork, input: { refreshToken: string; idempotencyKey: string }) {
    const { idempotencyKey, ...rest } = input;
    return uow.write((em) =>
      idempotent(em, { tenantId: null, scope: 'logout', key: idempotencyKey, input: rest, ttlHours: 1, protect: this.#rt.sealer }, async () => {
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
        return { ok: true };
      }),
    );
  }
}

export function assertPassword(password: string | null | undefined): string {
  if (!password || password.length < MIN_PASSWORD_LENGTH) {
    throw badInput(`Password must be at least ${MIN_PASSWORD_LENGTH} characters`, 'password');
  }
  if (password.length > 1024) throw badInput('Password is too long', 'password');
  return password;
}

export { AppError };
