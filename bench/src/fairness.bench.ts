// `pnpm bench fairness`: does one organization flooding the gateway hurt another? The whole
// stack runs as production processes (startBenchStack) with the gateway's per-organization and
// per-user rate limits set (RATE_LIMIT_ORG_* / RATE_LIMIT_USER_*, from BENCH_FAIRNESS_*).
// Organization A (quiet) sends a catalog page (`courses(first: 20)` with authors: catalog +
// identity) at BENCH_FAIRNESS_RATE req/s from a few members, each well under its own limit.
//   1. A alone for BENCH_FAIRNESS_SECONDS (after BENCH_WARMUP s unmeasured): A's latency.
//   2. The same while organization B floods the same query at BENCH_FLOOD_RATE (default 10× the
//      organization limit) from several members, whose user limits add up to more than the
//      organization's, so the organization limit is what stops B.
// Reported: A's p50/p95/p99 alone and with the flood, and p99(with)/p99(alone) (target ≤ 1.5);
// B's 200s and 429s; whether every 429 had Retry-After, RateLimit-* and RATE_LIMITED, and every
// 200 (A's and B's) RateLimit-*; the CPU each process spent in each phase.
// Both loads are open loop: a request is sent when it is due whether or not earlier ones were
// answered, and its latency counts from when it was due (a stalled server or a late client shows
// as latency instead of as fewer requests). B's flood runs in a worker thread of its own, so its
// JavaScript does not delay A's schedule; each thread posts on its own keep-alive agent.
import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { postJson, type PostResponse } from '@lectern/kernel/http-client';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import type { TestDatabase } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { cpuSnapshot, cpuSpent, openLoop, percentiles, pool, startBenchStack, type Json } from './stack.ts';

const { BENCH_FAIRNESS_RATE: RATE, BENCH_FAIRNESS_SECONDS: SECONDS, BENCH_WARMUP: WARMUP_S } = benchEnv;
const LIMITS = {
  org: { perMinute: benchEnv.BENCH_FAIRNESS_ORG_PER_MINUTE, burst: benchEnv.BENCH_FAIRNESS_ORG_BURST },
  user: { perMinute: benchEnv.BENCH_FAIRNESS_USER_PER_MINUTE, burst: benchEnv.BENCH_FAIRNESS_USER_BURST },
};
const ORG_PER_S = LIMITS.org.perMinute / 60;
const USER_PER_S = LIMITS.user.perMinute / 60;
const FLOOD_RATE = benchEnv.BENCH_FLOOD_RATE ?? 10 * ORG_PER_S;
/** Enough flooding members that their own limits add up to twice the organization's. */
const FLOOD_USERS = benchEnv.BENCH_FLOOD_USERS ?? Math.max(2, Math.ceil((2 * ORG_PER_S) / USER_PER_S));
/** A's members each send at most half their own limit: nothing should ever refuse A. */
const QUIET_USERS = Math.max(1, Math.ceil(RATE / (USER_PER_S / 2)));
/** B floods this long before A's measured phase starts: its bursts are spent, the limiter is in its steady state. */
const FLOOD_LEAD_S = 2;

const PAGE = 20;
const QUERY = `{ courses(first: ${PAGE}) { nodes { id title status authors { id displayName } } } }`;
const BODY = JSON.stringify({ query: QUERY });
const RATE_LIMIT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] as const;

/** What one sender saw: answers by status, their latencies (ms from when each was due), and the contract's checks. */
interface Tally {
  statuses: Record<string, number>;
  latencyMs: Record<string, number[]>;
  /** Transport failures (no HTTP answer), with the first few messages. */
  errors: number;
  errorSamples: string[];
  /** 200s whose body is not a full page with its authors. */
  badAnswers: number;
  okWithoutRateLimitHeaders: number;
  /** The headers and body of the first 200 without them (which path skipped them). */
  okWithoutRateLimitHeadersSample: { headers: Record<string, unknown>; body: string } | null;
  limitedWithoutRateLimitHeaders: number;
  limitedWithoutRetryAfter: number;
  limitedWithoutCode: number;
  /** Lowest RateLimit-Remaining on a 200 (how close the sender came to its limit). */
  minRemaining: number | null;
  /** 429s by the bucket that refused (`extensions.limit`: organization, user, cost). */
  limitedBy: Record<string, number>;
  /** 200s by the gateway's response cache outcome (`x-cache`: HIT, MISS, …; `none` without it). */
  cache: Record<string, number>;
}

const newTally = (): Tally => ({
  statuses: {},
  latencyMs: {},
  errors: 0,
  errorSamples: [],
  badAnswers: 0,
  okWithoutRateLimitHeaders: 0,
  okWithoutRateLimitHeadersSample: null,
  limitedWithoutRateLimitHeaders: 0,
  limitedWithoutRetryAfter: 0,
  limitedWithoutCode: 0,
  minRemaining: null,
  limitedBy: {},
  cache: {},
});

const parse = (body: string): Json => {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
};
const fullPage = (body: Json) => !body?.errors && body?.data?.courses?.nodes?.length === PAGE && body.data.courses.nodes.every((n: Json) => n.authors.length > 0 && n.authors.every((a: Json) => a.displayName));
/** Retry-After is delta-seconds or an HTTP date (RFC 9110). */
const retryAfterValid = (v: string | string[] | undefined) => typeof v === 'string' && (/^\d+$/.test(v) || !Number.isNaN(Date.parse(v)));

function record(t: Tally, r: PostResponse, ms: number) {
  const status = String(r.status);
  t.statuses[status] = (t.statuses[status] ?? 0) + 1;
  (t.latencyMs[status] ??= []).push(ms);
  const rateLimitHeaders = RATE_LIMIT_HEADERS.every((h) => typeof r.headers[h] === 'string' && r.headers[h] !== '');
  if (r.status === 429) {
    if (!rateLimitHeaders) t.limitedWithoutRateLimitHeaders++;
    if (!retryAfterValid(r.headers['retry-after'])) t.limitedWithoutRetryAfter++;
    const error = parse(r.body)?.errors?.[0]?.extensions;
    if (error?.code !== 'RATE_LIMITED') t.limitedWithoutCode++;
    const by = String(error?.limit ?? 'unknown');
    t.limitedBy[by] = (t.limitedBy[by] ?? 0) + 1;
  } else if (r.status === 200) {
    if (!rateLimitHeaders && t.okWithoutRateLimitHeaders++ === 0) t.okWithoutRateLimitHeadersSample = { headers: { ...r.headers }, body: r.body.slice(0, 200) };
    if (!fullPage(parse(r.body))) t.badAnswers++;
    const cache = String(r.headers['x-cache'] ?? 'none');
    t.cache[cache] = (t.cache[cache] ?? 0) + 1;
    const remaining = Number.parseInt(String(r.headers['ratelimit-remaining']), 10);
    if (Number.isFinite(remaining)) t.minRemaining = Math.min(t.minRemaining ?? remaining, remaining);
  }
}

/** Posts the page query round-robin with `tokens`, recording each answer in `tally` with its latency from when it was due. */
function sender(url: string, tokens: string[], tally: Tally) {
  let n = 0;
  return async (dueAt: number) => {
    const token = tokens[n++ % tokens.length]!;
    try {
      const r = await postJson(url, { authorization: `Bearer ${token}` }, BODY, 30_000);
      record(tally, r, performance.now() - dueAt);
    } catch (err) {
      tally.errors++;
      if (tally.errorSamples.length < 5) tally.errorSamples.push((err as Error).message);
    }
  };
}

// --- B's flood, in a worker thread --------------------------------------------------------------

interface FloodJob {
  fairnessFlood: true;
  url: string;
  tokens: string[];
  rate: number;
  leadSeconds: number;
}
type FloodMessage = { type: 'flooding' } | { type: 'done'; tally: Tally; sent: number; seconds: number; maxLateMs: number };

/** Floods until told 'stop'; says 'flooding' once it has run `leadSeconds`, then 'done' with what it saw. */
async function flood(job: FloodJob, port: MessagePort) {
  let stopped = false;
  port.on('message', (m) => {
    if (m === 'stop') stopped = true;
  });
  const tally = newTally();
  let announced = false;
  const loop = await openLoop(
    job.rate,
    (_i, dueMs) => {
      if (!announced && dueMs >= job.leadSeconds * 1000) {
        announced = true;
        port.postMessage({ type: 'flooding' } satisfies FloodMessage);
      }
      return !stopped;
    },
    sender(job.url, job.tokens, tally),
  );
  port.postMessage({ type: 'done', tally, ...loop } satisfies FloodMessage);
}

if (!isMainThread && (workerData as Partial<FloodJob> | null)?.fairnessFlood) void flood(workerData as FloodJob, parentPort!);

/** The flood worker, with its messages awaitable by type; an error or exit fails the wait. */
function startFlood(job: FloodJob) {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const inbox: FloodMessage[] = [];
  let failure: Error | null = null;
  let wake = () => {};
  worker.on('message', (m: FloodMessage) => {
    inbox.push(m);
    wake();
  });
  worker.on('error', (err) => {
    failure = err;
    wake();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the flood worker exited (code ${code})`);
    wake();
  });
  return {
    async next<T extends FloodMessage['type']>(type: T): Promise<Extract<FloodMessage, { type: T }>> {
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0] as Extract<FloodMessage, { type: T }>;
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    stop: () => worker.postMessage('stop'),
    close: () => worker.terminate(),
  };
}

// --- seed, measure, report ----------------------------------------------------------------------

/** Two organizations, each with `PAGE` published courses and its senders' access tokens (of real sessions). */
async function seed(db: TestDatabase) {
  const identityOrm = await createOrm({ databaseUrl: db.url, schema: 'identity', entities: identityEntities });
  const catalogOrm = await createOrm({ databaseUrl: db.url, schema: 'catalog', entities: catalogEntities });
  try {
    const organization = async (slug: string, senders: number) => {
      const people = await seedOrganizationWithPeople(identityOrm, slug);
      const members = await seedManyMembers(identityOrm, people.org, { count: senders, prefix: 'sender' });
      await pool([...Array(PAGE).keys()], 4, async (i) => {
        await seedCourse(catalogOrm, { tenantId: people.org.id, authorIds: [people.admin.id, people.instructor.id], title: `${slug} course ${i}`, published: true });
      });
      return Promise.all(members.map((m) => accessTokenFor(identityOrm, m, people.org, 3600)));
    };
    return { quiet: await organization('bench-quiet', QUIET_USERS), flooder: await organization('bench-flood', FLOOD_USERS) };
  } finally {
    await identityOrm.close();
    await catalogOrm.close();
  }
}

/** A phase's figures: answers, latency percentiles over every answer, statuses, the client's lateness. */
function summary(t: Tally, loop: { sent: number; seconds: number; maxLateMs: number }) {
  const all = Object.values(t.latencyMs).flat();
  return {
    sent: loop.sent,
    answered: all.length,
    latencyMs: all.length ? percentiles(all, [50, 95, 99]) : null,
    statuses: t.statuses,
    responseCache: t.cache,
    transportErrors: t.errors,
    transportErrorSamples: t.errorSamples,
    badAnswers: t.badAnswers,
    okWithoutRateLimitHeaders: t.okWithoutRateLimitHeaders,
    okWithoutRateLimitHeadersSample: t.okWithoutRateLimitHeadersSample,
    minRateLimitRemaining: t.minRemaining,
    clientMaxLateMs: loop.maxLateMs,
  };
}

export async function fairnessBench() {
  const stack = await startBenchStack({
    label: 'bench-fairness',
    env: {
      RATE_LIMITS: 'true',
      RESPONSE_CACHE: String(benchEnv.BENCH_FAIRNESS_RESPONSE_CACHE),
      RATE_LIMIT_ORG_PER_MINUTE: String(LIMITS.org.perMinute),
      RATE_LIMIT_ORG_BURST: String(LIMITS.org.burst),
      RATE_LIMIT_USER_PER_MINUTE: String(LIMITS.user.perMinute),
      RATE_LIMIT_USER_BURST: String(LIMITS.user.burst),
    },
  });
  try {
    const tokens = await seed(stack.db);
    const url = stack.gatewayUrl;
    for (const [who, token] of [['A', tokens.quiet[0]!], ['B', tokens.flooder[0]!]] as const) {
      const r = await postJson(url, { authorization: `Bearer ${token}` }, BODY, 30_000);
      if (r.status !== 200 || !fullPage(parse(r.body))) throw new Error(`${who}'s page: ${r.status} ${r.body.slice(0, 300)}`);
    }
    const total = Math.round(RATE * SECONDS);
    console.log(
      `fairness bench: A ${RATE} req/s from ${QUIET_USERS} members, ${SECONDS} s alone then ${SECONDS} s while B floods ${FLOOD_RATE} req/s from ${FLOOD_USERS} members` +
        ` (from ${FLOOD_LEAD_S} s before); limits: organization ${LIMITS.org.perMinute}/min burst ${LIMITS.org.burst}, user ${LIMITS.user.perMinute}/min burst ${LIMITS.user.burst}; response cache ${benchEnv.BENCH_FAIRNESS_RESPONSE_CACHE ? 'on' : 'off'}`,
    );
    if (WARMUP_S > 0) await openLoop(RATE, (i) => i < Math.round(RATE * WARMUP_S), sender(url, tokens.quiet, newTally()));

    // --- 1. A alone ---------------------------------------------------------------------------
    const aloneTally = newTally();
    let cpu = cpuSnapshot();
    const aloneLoop = await openLoop(RATE, (i) => i < total, sender(url, tokens.quiet, aloneTally));
    const aloneCpu = cpuSpent(cpu);
    const alone = summary(aloneTally, aloneLoop);
    console.log(`  A alone:          ${JSON.stringify(alone.latencyMs)} ms, statuses ${JSON.stringify(alone.statuses)}`);

    // --- 2. A while B floods ------------------------------------------------------------------
    const flooder = startFlood({ fairnessFlood: true, url, tokens: tokens.flooder, rate: FLOOD_RATE, leadSeconds: FLOOD_LEAD_S });
    let floodDone: Extract<FloodMessage, { type: 'done' }>;
    const withFloodTally = newTally();
    let withFloodLoop: Awaited<ReturnType<typeof openLoop>>;
    let floodCpu: Record<string, number>;
    try {
      await flooder.next('flooding');
      cpu = cpuSnapshot();
      withFloodLoop = await openLoop(RATE, (i) => i < total, sender(url, tokens.quiet, withFloodTally));
      floodCpu = cpuSpent(cpu);
      flooder.stop();
      floodDone = await flooder.next('done');
    } finally {
      await flooder.close();
    }
    const withFlood = summary(withFloodTally, withFloodLoop);
    console.log(`  A while B floods: ${JSON.stringify(withFlood.latencyMs)} ms, statuses ${JSON.stringify(withFlood.statuses)}`);

    // --- report -------------------------------------------------------------------------------
    const b = floodDone.tally;
    const bOk = b.statuses['200'] ?? 0;
    const bLimited = b.statuses['429'] ?? 0;
    const bOther = Object.entries(b.statuses).filter(([s]) => s !== '200' && s !== '429').reduce((n, [, c]) => n + c, 0);
    const bOkPerSecond = bOk / floodDone.seconds;
    /** What B may get through: the organization's rate, plus one burst over the flood. */
    const bAllowedPerSecond = ORG_PER_S + LIMITS.org.burst / floodDone.seconds;
    const ratioP99 = alone.latencyMs && withFlood.latencyMs ? withFlood.latencyMs.p99! / alone.latencyMs.p99! : null;
    const aLimited = (alone.statuses['429'] ?? 0) + (withFlood.statuses['429'] ?? 0);
    const aOk = (alone.statuses['200'] ?? 0) + (withFlood.statuses['200'] ?? 0);
    const verdicts = {
      p99RatioWithinTarget: ratioP99 !== null && ratioP99 <= 1.5,
      aNeverLimited: aLimited === 0,
      aAnsweredCorrectly: aOk === 2 * total && alone.badAnswers + withFlood.badAnswers === 0,
      bLimited: bLimited > 0,
      organizationLimitHeld: bLimited > 0 && bOkPerSecond <= bAllowedPerSecond * 1.1,
      every429HasRetryAfter: bLimited > 0 && b.limitedWithoutRetryAfter === 0,
      every429HasRateLimitHeaders: bLimited > 0 && b.limitedWithoutRateLimitHeaders === 0,
      every429IsRateLimited: bLimited > 0 && b.limitedWithoutCode === 0,
      every200HasRateLimitHeaders: alone.okWithoutRateLimitHeaders + withFlood.okWithoutRateLimitHeaders + b.okWithoutRateLimitHeaders === 0,
    };
    const row = (name: string, s: typeof alone) =>
      `  ${name.padEnd(18)} ${String(s.answered).padStart(7)} ${[s.latencyMs?.p50, s.latencyMs?.p95, s.latencyMs?.p99, s.latencyMs?.max].map((v) => (v ?? NaN).toFixed(1).padStart(8)).join('')}   ${JSON.stringify(s.statuses)} x-cache ${JSON.stringify(s.responseCache)} ${s.transportErrors ? `${s.transportErrors} transport errors ` : ''}(client late ≤ ${s.clientMaxLateMs} ms)`;
    const ok = (v: boolean) => (v ? 'ok' : 'NO');
    console.log(`\n  ${''.padEnd(18)} ${'answers'.padStart(7)}${['p50 ms', 'p95 ms', 'p99 ms', 'max ms'].map((h) => h.padStart(8)).join('')}   statuses`);
    console.log(row('A alone', alone));
    console.log(row('A while B floods', withFlood));
    console.log(`  p99 while B floods / alone: ${ratioP99?.toFixed(2) ?? 'n/a'} (target ≤ 1.5: ${ok(verdicts.p99RatioWithinTarget)}); A refused ${aLimited} times (${ok(verdicts.aNeverLimited)})`);
    console.log(
      `  B: ${floodDone.sent} sent in ${floodDone.seconds.toFixed(1)} s (client late ≤ ${floodDone.maxLateMs} ms): ${bOk} × 200 (${bOkPerSecond.toFixed(1)}/s; organization limit ${ORG_PER_S.toFixed(1)}/s` +
        ` + burst ${LIMITS.org.burst}, its members' together ${(FLOOD_USERS * USER_PER_S).toFixed(1)}/s: ${ok(verdicts.organizationLimitHeld)}), ${bLimited} × 429 by ${JSON.stringify(b.limitedBy)}` +
        `${b.latencyMs['429'] ? ` (p50 ${percentiles(b.latencyMs['429'], [50, 99]).p50} ms, p99 ${percentiles(b.latencyMs['429'], [50, 99]).p99} ms)` : ''}, ${bOther} other, ${b.errors} transport errors`,
    );
    console.log(
      `  429s with Retry-After ${bLimited - b.limitedWithoutRetryAfter}/${bLimited}, RateLimit-* ${bLimited - b.limitedWithoutRateLimitHeaders}/${bLimited}, RATE_LIMITED ${bLimited - b.limitedWithoutCode}/${bLimited};` +
        ` 200s with RateLimit-*: A ${aOk - alone.okWithoutRateLimitHeaders - withFlood.okWithoutRateLimitHeaders}/${aOk}, B ${bOk - b.okWithoutRateLimitHeaders}/${bOk}`,
    );
    console.log(`  CPU ms by process: alone ${JSON.stringify(aloneCpu)}\n                     while B floods ${JSON.stringify(floodCpu)}`);
    console.log(`\nmachine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min)`);

    return {
      bench: 'fairness',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() },
      settings: { rate: RATE, seconds: SECONDS, warmupSeconds: WARMUP_S, quietMembers: QUIET_USERS, floodRate: FLOOD_RATE, floodMembers: FLOOD_USERS, floodLeadSeconds: FLOOD_LEAD_S, limits: LIMITS, responseCache: benchEnv.BENCH_FAIRNESS_RESPONSE_CACHE, query: QUERY },
      quiet: { alone, withFlood, ratioP99, cpuMsByProcess: { alone: aloneCpu, withFlood: floodCpu } },
      flooder: {
        sent: floodDone.sent,
        seconds: floodDone.seconds,
        clientMaxLateMs: floodDone.maxLateMs,
        statuses: b.statuses,
        limitedBy: b.limitedBy,
        responseCache: b.cache,
        transportErrors: b.errors,
        transportErrorSamples: b.errorSamples,
        okPerSecond: bOkPerSecond,
        allowedPerSecond: bAllowedPerSecond,
        latencyMsByStatus: Object.fromEntries(Object.entries(b.latencyMs).map(([s, ms]) => [s, percentiles(ms, [50, 99])])),
        limitedWithoutRetryAfter: b.limitedWithoutRetryAfter,
        limitedWithoutRateLimitHeaders: b.limitedWithoutRateLimitHeaders,
        limitedWithoutCode: b.limitedWithoutCode,
        okWithoutRateLimitHeaders: b.okWithoutRateLimitHeaders,
        okWithoutRateLimitHeadersSample: b.okWithoutRateLimitHeadersSample,
      },
      verdicts,
    };
  } finally {
    await stack.close();
  }
}
