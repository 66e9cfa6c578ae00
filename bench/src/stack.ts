// The whole supergraph as separate processes on a scratch database, for benchmarks that go
// through the gateway: production settings (no playground, no introspection, warn logs) with
// the development keys passed explicitly, on random free-ish ports.
import { readdirSync, readFileSync } from 'node:fs';
import { postJson } from '@lectern/kernel/http-client';
import { createTestDatabase, type TestDatabase } from '@lectern/testkit';
import { DEV_ACTOR_PRIVATE_KEY, DEV_ACTOR_PUBLIC_KEY, DEV_IDENTITY_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { devServiceKey, publicJwk, SERVICE_NAMES, type ServiceName } from '@lectern/kernel/service-auth';
import { children, waitReady, type Children } from '../../scripts/processes.ts';
import { SUBGRAPHS } from '../../scripts/subgraphs.ts';

export interface BenchStack {
  db: TestDatabase;
  procs: Children;
  /** Process id of each started process, by name (subgraph name, `<name>-w`, `gateway`). */
  pids: Record<string, number>;
  gatewayUrl: string;
  subgraphUrl(name: string): string;
  /** Starts another gateway process over the same subgraphs, with `env` added (e.g. the response cache on); its URL. */
  startGateway(name: string, env: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the named subgraphs and workers (all subgraphs by default) and the gateway;
 * `replicas` runs more than one process of a worker (as a deployment scales it out).
 */
export async function startBenchStack(opts: { label: string; subgraphs?: string[]; workers?: string[]; replicas?: Record<string, number>; env?: Record<string, string> }): Promise<BenchStack> {
  const db = await createTestDatabase(Object.fromEntries(SUBGRAPHS.map((s) => [s.name, s.migrations])), opts.label);
  const procs = children({ quiet: true });
  const pids: Record<string, number> = {};
  const start = (name: string, script: string, env: Record<string, string>) => (pids[name] = procs.start(name, script, env).pid ?? 0);
  const base = 24_000 + Math.floor(Math.random() * 1000) * 10;
  const port = (name: string) => base + 1 + SUBGRAPHS.findIndex((s) => s.name === name);
  const urls = Object.fromEntries(SUBGRAPHS.map((s) => [s.urlEnv, `http://127.0.0.1:${port(s.name)}/graphql`]));
  const env: Record<string, string> = {
    ...db.env,
    ...urls,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    ACTOR_VERIFY_KEY: DEV_ACTOR_PUBLIC_KEY,
    IDENTITY_JWT_PRIVATE_KEY: DEV_IDENTITY_PRIVATE_KEY,
    // Production mode: every process gets its own service credential, as a deployment does.
    SERVICE_VERIFY_KEYS: JSON.stringify(Object.fromEntries(SERVICE_NAMES.map((n) => [n, publicJwk(devServiceKey(n))]))),
    INTROSPECTION: 'false',
    PLAYGROUND: 'false',
    // certification's worker prints the subgraph's public URLs into what it issues.
    CERTIFICATION_PUBLIC_URL: `http://127.0.0.1:${port('certification')}`,
    // Production mode requires the secrets a deployment sets.
    MEDIA_SIGNING_SECRET: 'bench-media-signing-secret-0123456789abcdef',
    CERTIFICATION_SECRET: 'bench-certification-secret-0123456789abcdef',
    // Benchmarks measure what the system does, not the limits or the cache in front of it:
    // those that measure them (fairness, catalog's cached phase) turn them on.
    RATE_LIMITS: 'false',
    RESPONSE_CACHE: 'false',
    APOLLO_TELEMETRY_DISABLED: 'true',
    ...opts.env,
  };
  const gatewayAt = async (name: string, at: number, extra: Record<string, string>) => {
    start(name, 'gateway/src/main.ts', { ...env, ...extra, PORT: String(at), ACTOR_SIGNING_KEY: DEV_ACTOR_PRIVATE_KEY, SERVICE_SIGNING_KEY: devServiceKey('gateway') });
    await waitReady(`http://127.0.0.1:${at}/readyz`);
    return `http://127.0.0.1:${at}/graphql`;
  };
  let gateways = 0;
  try {
    const wanted = SUBGRAPHS.filter((s) => (opts.subgraphs ?? SUBGRAPHS.map((x) => x.name)).includes(s.name));
    for (const s of wanted) start(s.name, s.main, { ...env, PORT: String(port(s.name)), SERVICE_SIGNING_KEY: devServiceKey(s.name as ServiceName) });
    for (const s of wanted) await waitReady(`http://127.0.0.1:${port(s.name)}/readyz`);
    const workers = SUBGRAPHS.filter((s) => (opts.workers ?? []).includes(s.name));
    const instances = workers.flatMap((s) => Array.from({ length: opts.replicas?.[s.name] ?? 1 }, (_, i) => ({ s, i, workerPort: port(s.name) + 100 + i * 20 })));
    for (const { s, i, workerPort } of instances) start(`${s.name}-w${i ? i + 1 : ''}`, s.worker, { ...env, WORKER_PORT: String(workerPort), SERVICE_SIGNING_KEY: devServiceKey(s.name as ServiceName) });
    for (const { workerPort } of instances) await waitReady(`http://127.0.0.1:${workerPort}/readyz`);
    await gatewayAt('gateway', base, {});
  } catch (err) {
    await procs.stop();
    await db.drop();
    throw err;
  }
  return {
    db,
    procs,
    pids,
    gatewayUrl: `http://127.0.0.1:${base}/graphql`,
    subgraphUrl: (name) => `http://127.0.0.1:${port(name)}/graphql`,
    startGateway: (name, extra) => gatewayAt(name, base + 50 + ++gateways, extra),
    async close() {
      await procs.stop();
      await db.drop();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- callers pin the shape they read
export type Json = any;

/**
 * One GraphQL request; returns the parsed body and the wall time it took. The load generator
 * shares the machine with what it measures, so it posts with the kernel's lean postJson.
 */
export async function post(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<{ body: Json; ms: number }> {
  const t = performance.now();
  const res = await postJson(url, token ? { authorization: `Bearer ${token}` } : {}, JSON.stringify({ query, variables }), 60_000);
  return { body: JSON.parse(res.body) as Json, ms: performance.now() - t };
}

/** Nearest-rank percentiles of `xs` (milliseconds, rounded to 0.1). */
export function percentiles(xs: number[], ps = [50, 99, 99.9]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const out: Record<string, number> = {};
  for (const p of ps) out[`p${p}`] = Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! * 10) / 10;
  out.max = Math.round(s[s.length - 1]! * 10) / 10;
  return out;
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function pool<T>(items: T[], concurrency: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await run(items[i]!, i);
      }
    }),
  );
}

/** CPU time (ms) each process on the machine has used so far, by pid (Linux /proc); `cmd` is its command line. */
export type CpuSnapshot = Map<number, { name: string; cmd: string; ms: number }>;

export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  const tick = 1000 / 100; // USER_HZ
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const script = cmd.find((a) => /\.(ts|js|cjs|mjs)$/.test(a));
      const name = script
        ? script.replace(/^.*\/(gateway|subgraphs\/[^/]+|bench)\/(src\/)?/, '$1/')
        : (cmd[0] ?? stat.slice(stat.indexOf('(') + 1, close)).replace(/:.*$/, '').replace(/^.*\//, '').replace(/ .*$/, '');
      out.set(Number(entry), { name, cmd: cmd.join(' '), ms: (Number(fields[11]) + Number(fields[12])) * tick });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU ms used between two snapshots, summed by process name, largest first. */
export function cpuSpent(before: CpuSnapshot, after = cpuSnapshot()): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [pid, a] of after) {
    const spent = a.ms - (before.get(pid)?.ms ?? 0);
    if (spent > 0) by[a.name] = (by[a.name] ?? 0) + spent;
  }
  return Object.fromEntries(Object.entries(by).sort((x, y) => y[1] - x[1]).filter(([, ms]) => ms >= 10));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Open loop: request i is due `i / rate` seconds after the start and is sent then, however many
 * are still unanswered, for as long as `more(i, dueMs)` (dueMs: since the start). Resolves once
 * every answer is in, with how late the client itself got behind its schedule at worst.
 */
export async function openLoop(rate: number, more: (i: number, dueMs: number) => boolean, send: (dueAt: number) => Promise<void>) {
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  let maxLateMs = 0;
  let i = 0;
  for (; more(i, (i * 1000) / rate); i++) {
    const dueAt = start + (i * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait);
    // Behind schedule: catch up, but let answers (and a worker's messages) in now and then.
    else if (i % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
    maxLateMs = Math.max(maxLateMs, performance.now() - dueAt);
    const p = send(dueAt).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { sent: i, seconds: (performance.now() - start) / 1000, maxLateMs: Math.round(maxLateMs * 10) / 10 };
}
