// Per-organization and per-user request limits at the gateway, and each organization's cost
// budget (issue 16: a big tenant cannot crowd out a small one).
//
// Every GraphQL request over HTTP takes, in one Redis round trip and all or nothing (the kernel's
// TokenBucket, shared by every gateway replica):
//   - one token from its organization's bucket (RATE_LIMIT_ORG_*, or the organization's own
//     limits from RATE_LIMIT_ORGANIZATIONS),
//   - one token from its principal's bucket: the user, or the API key (RATE_LIMIT_USER_*),
//   - one unit of its organization's cost budget (COST_BUDGET_*), which is then charged the
//     operation's actual cost once it is known (`charge`, off the response path).
// Anonymous requests take one token from their client address's bucket (RATE_LIMIT_ANONYMOUS_*).
//
// A refusal is HTTP 429 `RATE_LIMITED` with `Retry-After`; every answer carries RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset of the tightest of its buckets, and RateLimit-Policy.
// A bucket that refused is remembered in this process until its next token is due (to the
// millisecond), so a flood is refused without asking Redis again and what it is let through is
// spread evenly rather than released in a burst. While Redis does not answer (within 100 ms) requests pass
// unlimited: the limiter must not take the API down with it.
import { HttpError } from '@lectern/kernel/http';
import { within } from '@lectern/kernel/deadline';
import type { Actor } from '@lectern/kernel/actor';
import type { Logger } from '@lectern/kernel/logger';
import { TokenBucket, type BucketLimits, type BucketTake } from '@lectern/kernel/rate-limit';
import type { Redis } from '@lectern/kernel/redis';
import type { GatewayEnv } from './env.ts';

export interface RateLimitConfig {
  organization: BucketLimits;
  user: BucketLimits;
  anonymous: BucketLimits;
  costBudget: BucketLimits;
  /** Organization id → its own request limits and cost budget (a bigger or smaller plan). */
  organizations: Record<string, { organization?: BucketLimits; costBudget?: BucketLimits }>;
}

/** What an admitted request carries to its response. */
export interface Admission {
  headers: Record<string, string>;
  /** Cost units left in the organization's budget when the request was admitted. */
  costRemaining?: number;
}

/** The limits the gateway's environment sets (env.ts RATE_LIMIT_*, COST_BUDGET_PER_MINUTE). */
export function limitsFromEnv(env: GatewayEnv): RateLimitConfig {
  const budget = (perMinute: number) => ({ perMinute, burst: Math.ceil(perMinute) });
  return {
    organization: { perMinute: env.RATE_LIMIT_ORG_PER_MINUTE, burst: env.RATE_LIMIT_ORG_BURST },
    user: { perMinute: env.RATE_LIMIT_USER_PER_MINUTE, burst: env.RATE_LIMIT_USER_BURST },
    anonymous: { perMinute: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE, burst: env.RATE_LIMIT_ANONYMOUS_BURST },
    costBudget: budget(env.COST_BUDGET_PER_MINUTE),
    organizations: Object.fromEntries(
      Object.entries(env.RATE_LIMIT_ORGANIZATIONS).map(([id, o]) => [id, { organization: o.organization, ...(o.costPerMinute ? { costBudget: budget(o.costPerMinute) } : {}) }]),
    ),
  };
}

const REDIS_TIMEOUT_MS = 100;
const DENIALS_KEPT = 10_000;

type Kind = 'organization' | 'user' | 'anonymous' | 'cost';
interface Bucket extends BucketTake {
  kind: Kind;
}

export class RequestLimiter {
  readonly #buckets: TokenBucket;
  readonly #config: RateLimitConfig;
  readonly #log: Logger;
  /** Bucket key → epoch ms until which it is known to refuse. */
  readonly #denied = new Map<string, number>();
  #warnedAt = 0;

  constructor(redis: Redis, prefix: string, config: RateLimitConfig, log: Logger) {
    this.#buckets = new TokenBucket(redis, { prefix: `${prefix}gateway:limit:`, ...config.user });
    this.#config = config;
    this.#log = log;
  }

  /** Admits the request or throws HttpError 429 RATE_LIMITED (with Retry-After and RateLimit-* headers). */
  async admit(actor: Actor): Promise<Admission> {
    const buckets = this.#bucketsOf(actor);
    const now = Date.now();
    for (const b of buckets) {
      const until = this.#denied.get(b.key);
      if (until === undefined) continue;
      if (until > now) throw this.#refusal(b, buckets, Math.ceil((until - now) / 1000));
      this.#denied.delete(b.key);
    }
    let result;
    try {
      result = await within(REDIS_TIMEOUT_MS, () => this.#buckets.takeAll(buckets), `Redis did not answer within ${REDIS_TIMEOUT_MS} ms`);
    } catch (err) {
      if (now - this.#warnedAt > 10_000) {
        this.#warnedAt = now;
        this.#log.warn({ err: (err as Error).message }, 'rate limits not applied: Redis does not answer');
      }
      return { headers: {} };
    }
    if (!result.allowed) {
      const refusing = buckets.filter((b, i) => result.buckets[i]!.remaining < b.tokens);
      if (this.#denied.size >= DENIALS_KEPT) this.#denied.clear();
      // Until the very millisecond a token is back, not the whole seconds Retry-After says: the
      // flood then gets its share one request at a time, never as a burst each second.
      for (const b of refusing) this.#denied.set(b.key, now + result.retryAfterMs);
      throw this.#refusal(refusing[0] ?? buckets[0]!, buckets, result.retryAfterSeconds);
    }
    const requestBuckets = buckets.map((b, i) => ({ b, state: result.buckets[i]! })).filter(({ b }) => b.kind !== 'cost');
    const tightest = requestBuckets.reduce((a, c) => (c.state.remaining < a.state.remaining ? c : a));
    const cost = buckets.findIndex((b) => b.kind === 'cost');
    return {
      headers: rateLimitHeaders(tightest.b.limits, tightest.state.remaining, tightest.state.resetSeconds, buckets),
      ...(cost >= 0 ? { costRemaining: result.buckets[cost]!.remaining } : {}),
    };
  }

  /**
   * Charges an admitted operation's actual cost to its organization's budget (the unit taken at
   * admission counts), off the response path; what is left of the budget, as far as this request knows.
   */
  charge(actor: Actor, cost: number, admission: Admission): { remaining?: number } {
    const budget = this.#bucketsOf(actor).find((b) => b.kind === 'cost');
    const owed = Math.max(0, cost - 1);
    if (budget && owed > 0) {
      within(REDIS_TIMEOUT_MS * 10, () => this.#buckets.takeAll([{ ...budget, tokens: owed }], true), 'Redis did not answer').catch(() => {
        // The budget is a limit, not a ledger: a charge lost while Redis is away is not retried.
      });
    }
    return admission.costRemaining === undefined ? {} : { remaining: Math.max(0, admission.costRemaining - owed) };
  }

  #bucketsOf(actor: Actor): Bucket[] {
    const c = this.#config;
    if (actor.kind === 'anonymous' || !actor.tenantId) {
      return [{ kind: 'anonymous', key: `ip:${actor.ip ?? 'unknown'}`, limits: c.anonymous, tokens: 1 }];
    }
    const own = c.organizations[actor.tenantId];
    const principal = actor.kind === 'api_key' ? `key:${actor.apiKeyId}` : `user:${actor.userId}`;
    return [
      { kind: 'organization', key: `org:${actor.tenantId}`, limits: own?.organization ?? c.organization, tokens: 1 },
      { kind: 'user', key: `${principal}`, limits: c.user, tokens: 1 },
      { kind: 'cost', key: `cost:${actor.tenantId}`, limits: own?.costBudget ?? c.costBudget, tokens: 1 },
    ];
  }

  #refusal(refusing: Bucket, buckets: Bucket[], retryAfter: number): HttpError {
    const what =
      refusing.kind === 'organization'
        ? "Your organization's request rate limit is reached"
        : refusing.kind === 'cost'
          ? "Your organization's query cost budget for this minute is spent"
          : refusing.kind === 'user'
            ? 'Your request rate limit is reached'
            : 'The request rate limit for your address is reached';
    return new HttpError(429, 'RATE_LIMITED', `${what}; retry in ${retryAfter} s`, {
      headers: { 'retry-after': String(retryAfter), ...rateLimitHeaders(refusing.limits, 0, retryAfter, buckets) },
      extensions: { retryAfterSeconds: retryAfter, limit: refusing.kind },
    });
  }
}

/** RateLimit-* headers (IETF httpapi draft): the tightest bucket, and each bucket's policy (quota;w=seconds to refill it). */
function rateLimitHeaders(limits: BucketLimits, remaining: number, reset: number, buckets: Bucket[]): Record<string, string> {
  return {
    'ratelimit-limit': String(limits.burst),
    'ratelimit-remaining': String(remaining),
    'ratelimit-reset': String(reset),
    'ratelimit-policy': buckets
      .filter((b) => b.kind !== 'cost')
      .map((b) => `${b.limits.burst};w=${Math.ceil((b.limits.burst * 60) / b.limits.perMinute)};comment="${b.kind}"`)
      .join(', '),
  };
}
