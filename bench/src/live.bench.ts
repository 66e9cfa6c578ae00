// `pnpm bench live`: chat fan-out over GraphQL subscriptions, through one gateway process and,
// side by side, straight at the live subgraph (the gateway's overhead). Every subgraph and the
// gateway run as separate processes on a scratch database (no workers: the roster and the LIVE
// session are seeded with SQL; this measures fan-out, not enrollment).
//
// Per mode (gateway, then direct):
//   1. a separate client process (live-clients.ts) opens BENCH_LIVE_SUBSCRIBERS WebSockets
//      (graphql-transport-ws; BENCH_LIVE_CONCURRENCY handshakes in flight), one learner each;
//   2. memory of the gateway and live is read before, once every socket is initialised but
//      idle, and once every socket holds a `chatMessageAdded` subscription of the one session
//      (paced: at most BENCH_LIVE_CONCURRENCY subscribes not yet active, by the server's own
//      gauge): raw VmRSS, and RSS and V8 heap after a full GC through the process's inspector
//      (raw RSS also counts garbage of the connect phase not yet collected);
//   3. once the processes are idle again, BENCH_LIVE_WARMUP unmeasured and then
//      BENCH_LIVE_MESSAGES measured chat messages are posted through the gateway (HTTP,
//      ORG_ADMIN), one at a time, each after the previous one reached every subscriber; a body
//      `t=<epoch ms>#<k>` lets the clients record delivery latency (client clock = ours).
// The table's KiB per connection are the post-GC figures; the JSON has every reading, the load
// average (other processes share the cores) and, with BENCH_LIVE_PROFILE, a CPU profile of the
// mode's server during the fan-out (bench/results/*.cpuprofile.json, DevTools loads it).
// Direct subscribers authenticate as the gateway does (service token, actor per subscribe) and
// select `author { id }` only (displayName is identity's: only the gateway completes it).
//
// Presence: every session subscription holds a presence lease, and a person's first lease
// publishes PresenceChanged. It goes to the session's channel and the PresenceChanged kind's
// (live's realtime/events.ts), never to chatMessageAdded's, so 10,000 joins cost the chat
// subscribers nothing in either mode.
import os from 'node:os';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import WebSocket from 'ws';
import { createOrm } from '@lectern/kernel/orm';
import { globalId } from '@lectern/kernel/ids';
import { entities as identityEntities } from '@lectern/identity/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { idem } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { openFilesLimit } from '@lectern/kernel/process-limits';
import { cpuSnapshot, pool, post, startBenchStack, type BenchStack, type CpuSnapshot, type Json } from './stack.ts';

const {
  BENCH_LIVE_SUBSCRIBERS: N,
  BENCH_LIVE_MESSAGES: MESSAGES,
  BENCH_LIVE_CONCURRENCY: CONCURRENCY,
  BENCH_LIVE_MODES: MODES,
} = benchEnv;

const GATEWAY_QUERY = 'subscription($s: ID!) { chatMessageAdded(sessionId: $s) { id body createdAt author { id displayName } } }';
const DIRECT_QUERY = 'subscription($s: ID!) { chatMessageAdded(sessionId: $s) { id body createdAt author { id } } }';
const POST = 'mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { message { id } errors { code message } } }';
/** How long one message may take to reach every subscriber before the next is posted anyway. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** Least time between two posts. */
const MESSAGE_GAP_MS = 200;

type Mode = 'gateway' | 'direct';

interface ModeResult {
  mode: Mode;
  /** The learners were present before they subscribed (their joins published nothing). */
  subscribers: number;
  connected: number;
  subscribed: number;
  connectMs: number;
  subscribeMs: number;
  settleMs: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  received: number;
  expected: number;
  perMessage: { k: number; received: number; p50: number; p99: number; max: number; postMs: number }[];
  rssKiB: Record<string, { before: number; idle: number; subscribed: number; after: number }>;
  kibPerIdleConnection: number;
  kibPerSubscription: number;
  /** (RSS with N subscribed sockets − RSS before) / N. */
  kibPerSubscribedConnection: number;
  liveKibPerSubscribedConnection: number;
  fanoutCpuMs: Record<string, number>;
  /** The machine's load average (1, 5, 15 min) when the fan-out began: other processes share the cores. */
  loadAverage: number[];
  /** The unmeasured warm-up messages, as the clients saw them. */
  warmup: { k: number; received: number; p50: number; p99: number; max: number }[];
  /** Memory after a full GC (KiB) of the gateway and live, and its growth per connection on the mode's server. */
  heapKiB: Record<'before' | 'idle' | 'subscribed', Record<'gateway' | 'live', Heap | null>>;
  heapKibPerIdleConnection: Record<'rss' | 'heapUsed' | 'external', number> | null;
  heapKibPerSubscribedConnection: Record<'rss' | 'heapUsed' | 'external', number> | null;
  profile?: { file: string; topSelfMs: Record<string, number> };
  clientErrors: number;
  clientErrorSamples: string[];
  closeCodes: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS of `pid` in KiB. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Value of the first sample of `name` on `url`'s /metrics whose labels contain `labels`. */
async function metric(origin: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Waits until every pid uses under 10 % of a core over 500 ms (at most `maxMs`); how long it took. */
async function settle(pids: number[], maxMs = 120_000): Promise<number> {
  const t0 = performance.now();
  let before = cpuSnapshot();
  for (;;) {
    await sleep(500);
    const now = cpuSnapshot();
    const busy = pids.some((p) => (now.get(p)?.ms ?? 0) - (before.get(p)?.ms ?? 0) > 50);
    before = now;
    if (!busy || performance.now() - t0 > maxMs) return Math.round(performance.now() - t0);
  }
}

/** process.memoryUsage() of a process after a full GC, in KiB. */
type Heap = { rss: number; heapUsed: number; external: number; arrayBuffers: number };

/**
 * A DevTools session with one of the stack's processes: SIGUSR1 opens its inspector on
 * 127.0.0.1:9229 (one process at a time), close() shuts it again. Used to collect garbage
 * before reading memory (RSS alone also counts garbage not yet collected) and to profile CPU.
 * null when the port is taken or answers for another process.
 */
async function inspect(pid: number): Promise<{ call(method: string, params?: object): Promise<Json>; close(): Promise<void> } | null> {
  process.kill(pid, 'SIGUSR1');
  let url: string | undefined;
  for (let i = 0; i < 50 && !url; i++) {
    url = await fetch('http://127.0.0.1:9229/json/list')
      .then(async (r) => ((await r.json()) as { webSocketDebuggerUrl: string }[])[0]?.webSocketDebuggerUrl)
      .catch(() => undefined);
    if (!url) await sleep(100);
  }
  if (!url) return null;
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, (m: Json) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Json;
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<Json>((resolve) => {
      pending.set(++id, (m) => resolve(m.result));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const close = async () => {
    ws.send(JSON.stringify({ id: ++id, method: 'Runtime.evaluate', params: { expression: "setImmediate(() => process.getBuiltinModule('node:inspector').close())" } }));
    await sleep(100);
    ws.close();
    await sleep(100);
  };
  const who = await call('Runtime.evaluate', { expression: 'process.pid', returnByValue: true });
  if (who?.result?.value !== pid) {
    ws.close();
    return null;
  }
  return { call, close };
}

/** Memory of `pid` after a full garbage collection (KiB); null when its inspector is unavailable. */
async function heapAfterGc(pid: number): Promise<Heap | null> {
  const session = await inspect(pid).catch(() => null);
  if (!session) return null;
  try {
    await session.call('HeapProfiler.collectGarbage');
    const r = await session.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const m = JSON.parse(r.result.value as string) as Heap;
    return { rss: m.rss >> 10, heapUsed: m.heapUsed >> 10, external: m.external >> 10, arrayBuffers: m.arrayBuffers >> 10 };
  } finally {
    await session.close();
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The `n` functions with the most self time (ms) in a V8 CPU profile. */
function topSelf(p: CpuProfile, n: number): Record<string, number> {
  const byNode = new Map(p.nodes.map((x) => [x.id, x.callFrame]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = byNode.get(id)!;
    const where = f.url ? `${f.url.replace(/^.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\/.*\/main\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return Object.fromEntries([...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => [k, Math.round(ms)]));
}

const cpuOf = (before: CpuSnapshot, after: CpuSnapshot, pid: number) => Math.round((after.get(pid)?.ms ?? 0) - (before.get(pid)?.ms ?? 0));

/** The client process: its JSON lines as events, commands on stdin. */
function startClients(config: object) {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-bench-live-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [new URL('./live-clients.ts', import.meta.url).pathname, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const seen: Json[] = [];
  const waiters = new Set<{ test: (e: Json) => boolean; resolve: (e: Json) => void }>();
  let exited = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: Json;
    try {
      e = JSON.parse(line);
    } catch {
      process.stdout.write(`clients | ${line}\n`);
      return;
    }
    seen.push(e);
    if (e.event === 'progress') process.stdout.write(`  clients: ${e.ready} ready, ${e.failed} failed\n`);
    for (const w of [...waiters]) {
      if (!w.test(e)) continue;
      waiters.delete(w);
      w.resolve(e);
    }
  });
  child.on('exit', () => {
    exited = true;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    pid: child.pid!,
    send: (line: string) => child.stdin!.write(`${line}\n`),
    seen,
    errors: () => seen.filter((e) => e.event === 'errors').reduce((n: number, e) => Math.max(n, e.errors as number), 0),
    /** The first event (already seen or to come) passing `test`; null after `timeoutMs`. */
    wait(test: (e: Json) => boolean, timeoutMs: number, from = 0): Promise<Json | null> {
      const hit = seen.slice(from).find(test);
      if (hit) return Promise.resolve(hit);
      if (exited) return Promise.resolve(null);
      return new Promise((resolve) => {
        const w = { test, resolve };
        waiters.add(w);
        setTimeout(() => waiters.delete(w) && resolve(null), timeoutMs).unref();
      });
    },
    async stop(): Promise<Json> {
      const result = this.wait((e) => e.event === 'result', 30_000);
      child.stdin!.write('report\n');
      const r = await result;
      if (!exited) await new Promise((res) => child.once('exit', res));
      return r;
    },
  };
}

async function runMode(
  mode: Mode,
  stack: BenchStack,
  seed: { tenantId: string; sessionId: string; userIds: string[]; tokens: string[]; adminToken: string },
): Promise<ModeResult> {
  const gwOrigin = new URL(stack.gatewayUrl).origin;
  const liveOrigin = new URL(stack.subgraphUrl('live')).origin;
  const watched = { gateway: stack.pids.gateway!, live: stack.pids.live!, identity: stack.pids.identity! };
  const active = mode === 'gateway' ? () => metric(gwOrigin, 'lectern_gateway_subscriptions_active') : () => metric(liveOrigin, 'lectern_subscriptions_active', 'kind="direct"');
  const wsUrl = (mode === 'gateway' ? stack.gatewayUrl : stack.subgraphUrl('live')).replace(/^http/, 'ws');
  console.log(`\n[${mode}] ${N} subscribers at ${wsUrl}`);
  await settle(Object.values(watched));
  const rssAt = () => Object.fromEntries(Object.entries(watched).map(([k, pid]) => [k, rss(pid)]));
  /** Heap after a full GC of the gateway and live (after the raw RSS reads: GC shrinks RSS). */
  const heapsAt = async () => ({ gateway: await heapAfterGc(watched.gateway), live: await heapAfterGc(watched.live) });
  const before = rssAt();
  const heapBefore = await heapsAt();
  const baseline = await active();

  const clients = startClients({
    mode,
    url: wsUrl,
    sessionId: seed.sessionId,
    query: mode === 'gateway' ? GATEWAY_QUERY : DIRECT_QUERY,
    concurrency: CONCURRENCY,
    ...(mode === 'gateway' ? { tokens: seed.tokens } : { direct: { tenantId: seed.tenantId, userIds: seed.userIds } }),
  });
  try {
    await clients.wait((e) => e.event === 'started', 30_000);
    clients.send('connect');
    const connected = await clients.wait((e) => e.event === 'connected', 600_000);
    if (!connected) throw new Error(`${mode}: the clients did not connect in time`);
    console.log(`  connected ${connected.ready}/${N} (failed ${connected.failed}) in ${(connected.ms / 1000).toFixed(1)} s; close codes ${JSON.stringify(connected.closeCodes)}`);
    await sleep(1000);
    const idle = rssAt();
    const heapIdle = await heapsAt();

    // Subscribes, paced by the server's gauge: at most CONCURRENCY admissions in flight.
    const t0 = performance.now();
    let lastProgress = t0;
    let last = -1;
    const want = connected.ready as number;
    for (;;) {
      const n = (await active()) - baseline;
      const done = n + clients.errors();
      if (done > last) {
        last = done;
        lastProgress = performance.now();
      }
      if (done >= want) break;
      if (performance.now() - lastProgress > 30_000) throw new Error(`${mode}: subscriptions stalled at ${n} active, ${clients.errors()} refused`);
      clients.send(`subscribe ${done + CONCURRENCY}`);
      await sleep(50);
    }
    const subscribeMs = Math.round(performance.now() - t0);
    const subscribed = (await active()) - baseline;
    console.log(`  ${subscribed} subscriptions active in ${(subscribeMs / 1000).toFixed(1)} s (${clients.errors()} refused)`);
    const settleMs = await settle(Object.values(watched));
    const subscribedRss = rssAt();
    const heapSubscribed = await heapsAt();
    console.log(`  settled in ${(settleMs / 1000).toFixed(1)} s; RSS KiB before/idle/subscribed: ${Object.keys(watched).map((k) => `${k} ${before[k]}/${idle[k]}/${subscribedRss[k]}`).join(', ')}`);

    // Fan-out: one message at a time (the mode's server CPU-profiled when BENCH_LIVE_PROFILE).
    const profiled = benchEnv.BENCH_LIVE_PROFILE ? await inspect(mode === 'gateway' ? watched.gateway : watched.live).catch(() => null) : null;
    if (profiled) {
      await profiled.call('Profiler.enable');
      await profiled.call('Profiler.setSamplingInterval', { interval: 200 });
      await profiled.call('Profiler.start');
    }
    const loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const cpu0 = cpuSnapshot();
    const postMs: number[] = [];
    // Unmeasured warm-up messages first (k < 0: the clients keep them apart).
    for (let k = -benchEnv.BENCH_LIVE_WARMUP; k < MESSAGES; k++) {
      const from = clients.seen.length;
      const t = Date.now();
      const r = await post(stack.gatewayUrl, POST, { i: { sessionId: seed.sessionId, body: `t=${t}#${k}`, idempotencyKey: idem() } }, seed.adminToken);
      const payload = r.body.data?.postChatMessage;
      if (!payload?.message || payload.errors?.length) throw new Error(`postChatMessage: ${JSON.stringify(r.body).slice(0, 400)}`);
      if (k >= 0) postMs.push(Math.round(r.ms));
      await clients.wait((e) => e.event === 'delivered' && e.k === k, DELIVERY_TIMEOUT_MS, from);
      const spent = Date.now() - t;
      if (spent < MESSAGE_GAP_MS) await sleep(MESSAGE_GAP_MS - spent);
    }
    const cpu1 = cpuSnapshot();
    let profile: { file: string; topSelfMs: Record<string, number> } | undefined;
    if (profiled) {
      const { profile: p } = (await profiled.call('Profiler.stop')) as { profile: CpuProfile };
      await profiled.close();
      const file = new URL(`../results/live-${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile.json`, import.meta.url).pathname;
      writeFileSync(file, JSON.stringify(p));
      profile = { file, topSelfMs: topSelf(p, 30) };
      console.log(`  CPU profile of the ${mode === 'gateway' ? 'gateway' : 'live subgraph'} during the fan-out: ${file}`);
      for (const [fn, ms] of Object.entries(profile.topSelfMs)) console.log(`    ${String(ms).padStart(7)} ms  ${fn}`);
    }
    const after = rssAt();
    const fanoutCpuMs = { ...Object.fromEntries(Object.entries(watched).map(([k, pid]) => [k, cpuOf(cpu0, cpu1, pid)])), clients: cpuOf(cpu0, cpu1, clients.pid) };
    const result = await clients.stop();
    if (!result) throw new Error(`${mode}: the client process gave no result`);
    const perKiB = (a: number, b: number) => Math.round(((a - b) / Math.max(1, want)) * 10) / 10;
    const rssKiB = Object.fromEntries(Object.keys(watched).map((k) => [k, { before: before[k]!, idle: idle[k]!, subscribed: subscribedRss[k]!, after: after[k]! }]));
    const serverName = mode === 'gateway' ? 'gateway' : 'live';
    const heapPer = (a: Heap | null, b: Heap | null) => (a && b ? { rss: perKiB(a.rss, b.rss), heapUsed: perKiB(a.heapUsed, b.heapUsed), external: perKiB(a.external, b.external) } : null);
    const out: ModeResult = {
      mode,
      subscribers: N,
      connected: want,
      subscribed,
      connectMs: connected.ms,
      subscribeMs,
      settleMs,
      latencyMs: result.latencyMs,
      received: result.received,
      expected: subscribed * MESSAGES,
      perMessage: (result.perMessage as ModeResult['perMessage']).map((m) => ({ ...m, postMs: postMs[m.k] ?? NaN })),
      rssKiB,
      kibPerIdleConnection: perKiB(idle[serverName]!, before[serverName]!),
      kibPerSubscription: perKiB(subscribedRss[serverName]!, idle[serverName]!),
      kibPerSubscribedConnection: perKiB(subscribedRss[serverName]!, before[serverName]!),
      liveKibPerSubscribedConnection: perKiB(subscribedRss.live!, before.live!),
      fanoutCpuMs,
      loadAverage,
      warmup: result.warmup,
      heapKiB: { before: heapBefore, idle: heapIdle, subscribed: heapSubscribed },
      heapKibPerIdleConnection: heapPer(heapIdle[serverName], heapBefore[serverName]),
      heapKibPerSubscribedConnection: heapPer(heapSubscribed[serverName], heapBefore[serverName]),
      ...(profile ? { profile } : {}),
      clientErrors: result.errors,
      clientErrorSamples: result.errorSamples,
      closeCodes: result.closeCodes,
    };
    console.log(`  load average at the fan-out ${loadAverage.join(' ')}; warm-up p99 ${out.warmup.map((w) => w.p99).join(', ')} ms`);
    console.log(`  delivered ${out.received}/${out.expected}; latency ${JSON.stringify(out.latencyMs)}; fan-out CPU ms ${JSON.stringify(fanoutCpuMs)}`);
    return out;
  } catch (err) {
    await clients.stop().catch(() => null);
    throw err;
  }
}

export async function liveBench() {
  // The client process holds N sockets and the gateway N more (plus its own): say so up front.
  const limit = openFilesLimit();
  if (limit !== null && limit < N + 2000) {
    throw new Error(`pnpm bench live opens ${N} WebSockets (BENCH_LIVE_SUBSCRIBERS) in one process, but this shell allows ${limit} open files: raise it (ulimit -n ${N + 5000}) or set a smaller BENCH_LIVE_SUBSCRIBERS`);
  }
  const stack = await startBenchStack({
    label: 'bench-live',
    env: {
      CHAT_BURST: '10000',
      CHAT_RATE_PER_MINUTE: '10000',
      WS_MAX_SOCKETS: String(Math.max(50_000, N + 1000)),
      WS_MAX_SUBSCRIPTIONS: String(Math.max(100_000, N + 1000)),
    },
  });
  const admin = new pg.Pool({ connectionString: stack.db.adminUrl, max: 2 });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const identityOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'identity', entities: identityEntities });
    closers.push(() => identityOrm.close());
    const people = await seedOrganizationWithPeople(identityOrm, 'bench-live');
    const tenantId = people.org.id;
    const t0 = performance.now();
    const learners = await seedManyMembers(identityOrm, people.org, { count: N });
    const tokens = new Array<string>(N);
    await pool(learners, 20, async (l, i) => {
      tokens[i] = await accessTokenFor(identityOrm, l, people.org, 3600);
    });
    const adminToken = await accessTokenFor(identityOrm, people.admin, people.org, 3600);

    // The roster projection and one LIVE session, as live's consumers and startSession leave them.
    const offeringId = randomUUID();
    const cohortId = randomUUID();
    const sessionUuid = randomUUID();
    await admin.query(`insert into live.roster_cohorts (tenant_id, cohort_id, offering_id, instructor_ids) values ($1, $2, $3, '{}')`, [tenantId, cohortId, offeringId]);
    await admin.query(
      `insert into live.roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, status)
       select $1, gen_random_uuid(), l, $3, $4, 'ACTIVE' from unnest($2::uuid[]) as l`,
      [tenantId, learners.map((l) => l.id), offeringId, cohortId],
    );
    await admin.query(
      `insert into live.sessions (id, tenant_id, offering_id, cohort_ids, title, starts_at, ends_at, join_url, status, started_at, created_by)
       values ($1, $2, $3, null, 'Bench live class', now() - interval '5 minutes', now() + interval '2 hours', 'https://video.example/bench', 'LIVE', now(), $4)`,
      [sessionUuid, tenantId, offeringId, people.admin.id],
    );
    console.log(`live bench: ${N} learners, tokens and a LIVE session seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const seed = { tenantId, sessionId: globalId('Session', sessionUuid), userIds: learners.map((l) => l.id), tokens, adminToken };

    const results: ModeResult[] = [];
    for (const mode of MODES) results.push(await runMode(mode, stack, seed));

    const table = results.map((r) => ({
      mode: r.mode,
      subscribers: r.subscribed,
      p50: r.latencyMs?.p50,
      p99: r.latencyMs?.p99,
      max: r.latencyMs?.max,
      delivered: `${r.received}/${r.expected}`,
      'connect s': +(r.connectMs / 1000).toFixed(1),
      'subscribe s': +(r.subscribeMs / 1000).toFixed(1),
      'KiB/idle conn': r.heapKibPerIdleConnection?.rss ?? r.kibPerIdleConnection,
      'KiB/subscribed conn': r.heapKibPerSubscribedConnection?.rss ?? r.kibPerSubscribedConnection,
      'heap KiB/idle': r.heapKibPerIdleConnection?.heapUsed,
      'heap KiB/subscribed': r.heapKibPerSubscribedConnection?.heapUsed,
      'gateway CPU ms': r.fanoutCpuMs.gateway,
      'live CPU ms': r.fanoutCpuMs.live,
      'client CPU ms': r.fanoutCpuMs.clients,
      load: r.loadAverage[0],
    }));
    console.log(`\nlive fan-out: ${N} subscribers, ${MESSAGES} messages one at a time (latency ms at the client; KiB per connection: the server's RSS and V8 heap growth after a full GC, divided by the connections; CPU ms during the fan-out)`);
    console.table(table);
    return {
      bench: 'live',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      settings: { subscribers: N, messages: MESSAGES, warmup: benchEnv.BENCH_LIVE_WARMUP, concurrency: CONCURRENCY, modes: MODES },
      table,
      results,
    };
  } finally {
    for (const close of closers) await close();
    await admin.end();
    await stack.close();
  }
}
