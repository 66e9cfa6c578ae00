// Load with autocannon and the CPU each server process spent on it: for benchmarks that
// compare targets side by side (alternating rounds, medians). CPU comes from /proc (utime +
// stime of every thread of the process), so it includes GC and libuv threads; PostgreSQL is
// the sum over the backends connected to the bench's database.
import autocannon from 'autocannon';
import { cpuSnapshot, type CpuSnapshot } from './stack.ts';

export interface LoadTarget {
  url: string;
  /** Built right before each load (signed actor contexts expire). */
  headers(): Promise<Record<string, string>>;
  body: string;
  /** The processes serving it, by role (gateway, catalog, identity, …). */
  pids: Record<string, number>;
}

export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Transport errors, timeouts and non-2xx responses. */
  errors: number;
  /** CPU ms per request by role, plus `postgres` and `client` (this process, autocannon). */
  cpuPerRequest: Record<string, number>;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** CPU ms `pids` used between the snapshots; a process started meanwhile counts from zero, one that ended is missed. */
const spent = (before: CpuSnapshot, after: CpuSnapshot, pids: number[]) =>
  pids.reduce((ms, pid) => {
    const now = after.get(pid)?.ms;
    return now === undefined ? ms : ms + now - (before.get(pid)?.ms ?? 0);
  }, 0);
/** PostgreSQL backends serving `database` (their command line names it). */
const backends = (snap: CpuSnapshot, database: string) => [...snap].filter(([, p]) => p.cmd.startsWith('postgres:') && p.cmd.includes(` ${database} `)).map(([pid]) => pid);

export async function load(target: LoadTarget, opts: { connections: number; seconds: number; database: string }): Promise<Sample> {
  const headers = { 'content-type': 'application/json', ...(await target.headers()) };
  const before = cpuSnapshot();
  const client0 = process.cpuUsage();
  const r = await autocannon({ url: target.url, method: 'POST', connections: opts.connections, duration: opts.seconds, headers, body: target.body });
  const client = process.cpuUsage(client0);
  const after = cpuSnapshot();
  const requests = Math.max(1, r.requests.total);
  const cpu: Record<string, number> = {};
  for (const [role, pid] of Object.entries(target.pids)) cpu[role] = spent(before, after, [pid]) / requests;
  // Backends the pools opened during the load count from zero; idle ones closed meanwhile did no work.
  cpu.postgres = spent(before, after, backends(after, opts.database)) / requests;
  cpu.client = (client.user + client.system) / 1000 / requests;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total, errors: r.errors + r.timeouts + r.non2xx, cpuPerRequest: cpu };
}

/** Medians of each figure over rounds. */
export function summarize(xs: Sample[]) {
  const roles = [...new Set(xs.flatMap((x) => Object.keys(x.cpuPerRequest)))];
  return {
    rps: median(xs.map((x) => x.rps)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    errors: xs.reduce((n, x) => n + x.errors, 0),
    cpuPerRequest: Object.fromEntries(roles.map((role) => [role, median(xs.map((x) => x.cpuPerRequest[role] ?? 0))])),
  };
}
export type Summary = ReturnType<typeof summarize>;
