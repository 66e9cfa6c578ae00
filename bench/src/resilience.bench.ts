// `pnpm bench resilience`: one subgraph stops answering (SIGSTOP, as a process stalled by the
// kernel or a debugger would), and the gateway keeps serving. The whole stack runs as production
// processes (startBenchStack) with the gateway's defaults, except catalog's timeout
// (SUBGRAPH_TIMEOUTS catalog=BENCH_RESILIENCE_TIMEOUT_MS). Two open-loop loads of
// BENCH_RESILIENCE_RATE req/s each, from one learner:
//   identity-only   `me { kind user { displayName } organization { name } }`: never touches catalog
//   mixed           the same and `courseBySlug(...) { title }`: catalog's part
// Phases of BENCH_RESILIENCE_SECONDS each: normal; catalog SIGSTOPped; after SIGCONT.
// Reported per phase and load: p50/p99, what the answers were (complete, partial with catalog's
// field failing SERVICE_UNAVAILABLE at its path, other), the identity-only load's latency against
// normal (target ≤ 1.2×), how long mixed requests took to fail while catalog was stopped (the
// timeout, then at once while the circuit is open), and when the circuit opened and closed
// (lectern_gateway_subgraph_circuit_state, sampled every 100 ms).
import os from 'node:os';
import { postJson } from '@lectern/kernel/http-client';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { accessTokenFor, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import type { TestDatabase } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { openLoop, percentiles, startBenchStack, type Json } from './stack.ts';

const { BENCH_RESILIENCE_RATE: RATE, BENCH_RESILIENCE_SECONDS: SECONDS, BENCH_RESILIENCE_TIMEOUT_MS: TIMEOUT_MS, BENCH_WARMUP: WARMUP_S } = benchEnv;
const IDENTITY_ONLY = JSON.stringify({ query: '{ me { kind user { displayName } organization { name } } }' });
const MIXED = JSON.stringify({ query: '{ me { kind user { displayName } } courseBySlug(slug: "bench-resilience") { title } }' });
const MAX_RATIO = 1.2;

async function seed(db: TestDatabase) {
  const identityOrm = await createOrm({ databaseUrl: db.url, schema: 'identity', entities: identityEntities });
  const catalogOrm = await createOrm({ databaseUrl: db.url, schema: 'catalog', entities: catalogEntities });
  try {
    const people = await seedOrganizationWithPeople(identityOrm, 'bench-resilience');
    await seedCourse(catalogOrm, { tenantId: people.org.id, authorIds: [people.admin.id], title: 'Resilience', slug: 'bench-resilience', published: true });
    return await accessTokenFor(identityOrm, people.learner, people.org, 3600);
  } finally {
    await identityOrm.close();
    await catalogOrm.close();
  }
}

type Outcome = 'complete' | 'partial' | 'other';
interface Tally {
  latencyMs: number[];
  outcomes: Record<Outcome, number>;
  samples: string[];
}
const tally = (): Tally => ({ latencyMs: [], outcomes: { complete: 0, partial: 0, other: 0 }, samples: [] });

/** What one answer was: all there, or identity's part with catalog's field failing at its path. */
function outcomeOf(status: number, body: Json): Outcome {
  if (status !== 200 || !body?.data?.me?.user?.displayName) return 'other';
  if (!body.errors) return 'complete';
  const failed = body.errors.every((e: Json) => e.extensions?.code === 'SERVICE_UNAVAILABLE' && e.path?.[0] === 'courseBySlug');
  return failed && body.data.courseBySlug === null ? 'partial' : 'other';
}

function sender(url: string, token: string, body: string, t: Tally) {
  return async (dueAt: number) => {
    let status = 0;
    let parsed: Json = null;
    try {
      const r = await postJson(url, { authorization: `Bearer ${token}` }, body, 30_000);
      status = r.status;
      parsed = JSON.parse(r.body);
    } catch (err) {
      parsed = { error: (err as Error).message };
    }
    t.latencyMs.push(performance.now() - dueAt);
    const o = outcomeOf(status, parsed);
    t.outcomes[o]++;
    if (o === 'other' && t.samples.length < 3) t.samples.push(`${status} ${JSON.stringify(parsed).slice(0, 300)}`);
  };
}

/** Both loads at once for `seconds`; each load's tally. */
async function phase(url: string, token: string, seconds: number) {
  const identity = tally();
  const mixed = tally();
  const total = Math.round(RATE * seconds);
  await Promise.all([openLoop(RATE, (i) => i < total, sender(url, token, IDENTITY_ONLY, identity)), openLoop(RATE, (i) => i < total, sender(url, token, MIXED, mixed))]);
  return { identity, mixed };
}

const summary = (t: Tally) => ({ answers: t.latencyMs.length, latencyMs: percentiles(t.latencyMs, [50, 99]), outcomes: t.outcomes, samples: t.samples });

export async function resilienceBench() {
  const stack = await startBenchStack({ label: 'bench-resilience', env: { SUBGRAPH_TIMEOUTS: `catalog=${TIMEOUT_MS}` } });
  const catalogPid = stack.pids.catalog!;
  try {
    const token = await seed(stack.db);
    const url = stack.gatewayUrl;
    const metricsUrl = url.replace(/\/graphql$/, '/metrics');
    // The circuit's state over time (0 closed, 1 half-open, 2 open), from the gateway's metrics.
    const t0 = performance.now();
    const transitions: { atMs: number; state: number }[] = [];
    let last = -1;
    const sampler = setInterval(() => {
      fetch(metricsUrl)
        .then((r) => r.text())
        .then((text) => {
          const state = Number(/lectern_gateway_subgraph_circuit_state\{[^}]*subgraph="catalog"[^}]*\} (\d)/.exec(text)?.[1] ?? -1);
          if (state !== last) transitions.push({ atMs: Math.round(performance.now() - t0), state });
          last = state;
        })
        .catch(() => {});
    }, 100);
    console.log(`resilience bench: ${RATE} req/s identity-only and ${RATE} req/s mixed, ${SECONDS} s per phase; catalog's timeout ${TIMEOUT_MS} ms, the gateway's breaker defaults`);
    try {
      if (WARMUP_S > 0) await phase(url, token, WARMUP_S);
      const normal = await phase(url, token, SECONDS);
      const stoppedAt = Math.round(performance.now() - t0);
      process.kill(catalogPid, 'SIGSTOP');
      let stopped;
      try {
        stopped = await phase(url, token, SECONDS);
      } finally {
        process.kill(catalogPid, 'SIGCONT');
      }
      const continuedAt = Math.round(performance.now() - t0);
      const after = await phase(url, token, SECONDS);
      const phases = { normal, stopped, after };
      const result = Object.fromEntries(Object.entries(phases).map(([name, p]) => [name, { identityOnly: summary(p.identity), mixed: summary(p.mixed) }]));
      const ratio = {
        p50: result.stopped!.identityOnly.latencyMs.p50! / result.normal!.identityOnly.latencyMs.p50!,
        p99: result.stopped!.identityOnly.latencyMs.p99! / result.normal!.identityOnly.latencyMs.p99!,
      };
      const opened = transitions.find((x) => x.atMs >= stoppedAt && x.state === 2);
      const closed = transitions.find((x) => x.atMs >= continuedAt && x.state === 0);

      console.log('\n                              answers  p50 ms  p99 ms   complete  partial  other');
      for (const [name, r] of Object.entries(result)) {
        for (const [load, s] of [['identity-only', r.identityOnly], ['mixed', r.mixed]] as const) {
          console.log(`  ${name.padEnd(8)} ${load.padEnd(14)} ${String(s.answers).padStart(9)} ${s.latencyMs.p50!.toFixed(1).padStart(7)} ${s.latencyMs.p99!.toFixed(1).padStart(7)}   ${String(s.outcomes.complete).padStart(8)} ${String(s.outcomes.partial).padStart(8)} ${String(s.outcomes.other).padStart(6)}`);
        }
      }
      console.log(`\n  identity-only while catalog is stopped / normal: p50 ${ratio.p50.toFixed(2)}, p99 ${ratio.p99.toFixed(2)} (target ≤ ${MAX_RATIO}: ${Math.max(ratio.p50, ratio.p99) <= MAX_RATIO ? 'met' : 'NOT MET'})`);
      console.log(`  circuit: opened ${opened ? `${opened.atMs - stoppedAt} ms after SIGSTOP` : 'never'}; closed ${closed ? `${closed.atMs - continuedAt} ms after SIGCONT` : 'never'}`);
      for (const [name, r] of Object.entries(result)) for (const s of [...r.identityOnly.samples, ...r.mixed.samples]) console.log(`  ${name} sample of "other": ${s}`);
      console.log(`\nmachine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
      return {
        bench: 'resilience',
        at: new Date().toISOString(),
        machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() },
        settings: { rate: RATE, seconds: SECONDS, catalogTimeoutMs: TIMEOUT_MS, queries: { identityOnly: IDENTITY_ONLY, mixed: MIXED } },
        phases: result,
        identityOnlyRatio: ratio,
        circuit: { transitions, stoppedAtMs: stoppedAt, continuedAtMs: continuedAt, openedAfterMs: opened ? opened.atMs - stoppedAt : null, closedAfterMs: closed ? closed.atMs - continuedAt : null },
        verdict: { target: `identity-only p50 and p99 while catalog is stopped ≤ ${MAX_RATIO}× normal`, met: Math.max(ratio.p50, ratio.p99) <= MAX_RATIO },
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    process.kill(catalogPid, 'SIGCONT');
    await stack.close();
  }
}
