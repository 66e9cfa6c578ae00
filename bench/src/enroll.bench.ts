// `pnpm bench enroll`: enrollment through the gateway, as separate processes on a scratch
// database (identity, catalog, enrollment + its worker, learning, notifications, gateway).
// 1. 500 learners race for a cohort of 50 seats, each with its own token: latency (p50, p99,
//    p99.9) and correctness (exactly 50 ACTIVE in the database, 450 COHORT_FULL). Reads by
//    other members at the race's concurrency come first, so the race meets as many open
//    connections as a running system has (a cold burst would measure 50 TCP handshakes on
//    each hop instead).
// 2. Noisy neighbour: organization B's enrollments, alone (before the race, which also brings
//    every process to its steady state), then while organization A's
//    10,000-row roster import (100 bad rows) runs; the import's duration and outcome.
import os from 'node:os';
import pg from 'pg';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { globalId, idOf } from '@lectern/kernel/ids';
import { idem } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { cpuSnapshot, cpuSpent, percentiles, pool, post, startBenchStack, type Json } from './stack.ts';

const { BENCH_RACERS: RACERS, BENCH_SEATS: SEATS, BENCH_RACE_CONCURRENCY: RACE_CONCURRENCY, BENCH_IMPORT_ROWS: IMPORT_ROWS, BENCH_NEIGHBOUR_CONCURRENCY: NEIGHBOUR_CONCURRENCY } = benchEnv;
const BAD_ROWS = Math.min(100, Math.floor(IMPORT_ROWS / 100));

const CREATE_OFFERING = `mutation($i: CreateOfferingInput!) { createOffering(input: $i) { offering { id } errors { code message } } }`;
const CREATE_COHORT = `mutation($i: CreateCohortInput!) { createCohort(input: $i) { cohort { id } errors { code message } } }`;
const ENROLL = `mutation($i: EnrollLearnerInput!) { enrollLearner(input: $i) { enrollment { id status } errors { code } } }`;
const IMPORT = `mutation($i: ImportRosterInput!) { importRoster(input: $i) { rosterImport { id total } errors { code message } } }`;
const IMPORT_STATUS = `query($id: ID!) { rosterImport(id: $id) { status total processed enrolled alreadyEnrolled rejected } }`;

export async function enrollBench() {
  const stack = await startBenchStack({ label: 'bench-enroll', workers: ['enrollment'] });
  const admin = new pg.Pool({ connectionString: stack.db.adminUrl, max: 2 });
  // identity's ORM stays open to the end: access tokens are minted for real sessions (accessTokenFor).
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // --- seed: two organizations, their people and a published course each -------------
    const identityOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'identity', entities: identityEntities });
    closers.push(() => identityOrm.close());
    const catalogOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'catalog', entities: catalogEntities });
    const A = await seedOrganizationWithPeople(identityOrm, 'bench-a');
    const B = await seedOrganizationWithPeople(identityOrm, 'bench-b');
    const aMembers = await seedManyMembers(identityOrm, A.org, { count: Math.max(RACERS + RACE_CONCURRENCY, IMPORT_ROWS - BAD_ROWS) });
    const bMembers = await seedManyMembers(identityOrm, B.org, { count: 400 });
    const courseA = await seedCourse(catalogOrm, { tenantId: A.org.id, authorId: A.admin.id, published: true });
    const courseB = await seedCourse(catalogOrm, { tenantId: B.org.id, authorId: B.admin.id, published: true });
    await catalogOrm.close();
    const gw = stack.gatewayUrl;
    const adminA = await accessTokenFor(identityOrm, A.admin, A.org, 3600);
    const adminB = await accessTokenFor(identityOrm, B.admin, B.org, 3600);
    const ok = (r: { body: Json }, field: string) => {
      const payload = r.body.data?.[field];
      if (!payload || payload.errors?.length || r.body.errors) throw new Error(`${field}: ${JSON.stringify(r.body).slice(0, 400)}`);
      return payload;
    };
    const now = Date.now();
    const schedule = async (token: string, courseId: string, capacity: number, waitlist = false) => {
      const offering = ok(
        await post(gw, CREATE_OFFERING, {
          i: {
            courseId,
            startsAt: new Date(now + 86_400_000).toISOString(),
            endsAt: new Date(now + 30 * 86_400_000).toISOString(),
            selfEnrollment: true,
            waitlistEnabled: waitlist,
            idempotencyKey: idem(),
          },
        }, token),
        'createOffering',
      ).offering;
      const cohort = ok(await post(gw, CREATE_COHORT, { i: { offeringId: offering.id, name: `Cohort of ${capacity}`, capacity, idempotencyKey: idem() } }, token), 'createCohort').cohort;
      return { offeringId: offering.id as string, cohortId: cohort.id as string };
    };

    // --- 0. organization B enrolls alone (its baseline for the noisy-neighbour comparison;
    //        it also brings every process to its steady state before the race) -----------
    const targetB = await schedule(adminB, globalId('Course', courseB.id), 1000);
    const bTokens = await Promise.all(bMembers.map((m) => accessTokenFor(identityOrm, m, B.org, 3600)));
    const enrollB = async (from: number, to: number) => {
      const ms: number[] = [];
      let failures = 0;
      await pool(bMembers.slice(from, to), NEIGHBOUR_CONCURRENCY, async (_m, i) => {
        const r = await post(gw, ENROLL, { i: { cohortId: targetB.cohortId, idempotencyKey: idem() } }, bTokens[from + i]);
        ms.push(r.ms);
        if (r.body.data?.enrollLearner?.enrollment?.status !== 'ACTIVE') failures++;
      });
      return { latencyMs: percentiles(ms, [50, 99]), n: ms.length, failures };
    };
    const alone = await enrollB(0, 150);
    console.log(`neighbour alone: ${JSON.stringify(alone)}`);

    // --- 1. the race (organization A) -------------------------------------------------------
    const race = await schedule(adminA, globalId('Course', courseA.id), SEATS);
    const racers = aMembers.slice(0, RACERS);
    const tokens = await Promise.all(racers.map((m) => accessTokenFor(identityOrm, m, A.org, 3600)));
    // A running system has as many connections open as requests in flight (client to gateway,
    // gateway to subgraph, subgraph to PostgreSQL): open them with reads at the race's
    // concurrency, by other members of A (the racers' own tokens stay cold).
    const warmers = await Promise.all(aMembers.slice(RACERS, RACERS + RACE_CONCURRENCY).map((m) => accessTokenFor(identityOrm, m, A.org, 3600)));
    await pool([...warmers, ...warmers, ...warmers], RACE_CONCURRENCY, async (token) => {
      const r = await post(gw, `query($id: ID!) { cohort(id: $id) { id capacity } }`, { id: race.cohortId }, token);
      if (r.body.errors) throw new Error(`warm-up failed: ${JSON.stringify(r.body.errors)}`);
    });
    // warm the gateway's query plan for the mutation
    await post(gw, ENROLL, { i: { cohortId: race.cohortId, learnerId: globalId('User', A.learner.id), idempotencyKey: idem() } }, adminA).then(async (r) => {
      const id = r.body.data?.enrollLearner?.enrollment?.id;
      if (id) await post(gw, `mutation($i: DropEnrollmentInput!) { dropEnrollment(input: $i) { errors { code } } }`, { i: { enrollmentId: id, idempotencyKey: idem() } }, adminA);
    });
    const outcomes: Record<string, number> = {};
    const latencies: number[] = [];
    const byOutcome: Record<string, number[]> = {};
    const cpu0 = cpuSnapshot();
    if (benchEnv.BENCH_MARKS) console.log(`mark race start ${process.hrtime.bigint() / 1000n}`);
    const t0 = performance.now();
    await pool(racers, RACE_CONCURRENCY, async (_m, i) => {
      const r = await post(gw, ENROLL, { i: { cohortId: race.cohortId, idempotencyKey: idem() } }, tokens[i]);
      latencies.push(r.ms);
      const p = r.body.data?.enrollLearner;
      const outcome = r.body.errors ? `error:${r.body.errors[0]?.extensions?.code}` : (p?.errors?.[0]?.code ?? p?.enrollment?.status ?? 'unknown');
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      (byOutcome[outcome] ??= []).push(r.ms);
    });
    const raceWall = performance.now() - t0;
    const raceCpu = cpuSpent(cpu0);
    if (benchEnv.BENCH_MARKS) console.log(`mark race end ${process.hrtime.bigint() / 1000n}`);
    const active = Number((await admin.query(`select count(*) from enrollment.enrollments where cohort_id = $1 and status = 'ACTIVE'`, [idOf(race.cohortId, 'Cohort')])).rows[0].count);
    const raceLatency = percentiles(latencies);
    const correct = active === SEATS && outcomes.ACTIVE === SEATS && outcomes.COHORT_FULL === RACERS - SEATS;
    console.log(`race: ${RACERS} learners, ${SEATS} seats, ${RACE_CONCURRENCY} in flight: ${JSON.stringify(raceLatency)} ms, wall ${Math.round(raceWall)} ms`);
    const latencyByOutcome = Object.fromEntries(Object.entries(byOutcome).map(([k, ms]) => [k, percentiles(ms, [50, 99])]));
    console.log(`  outcomes ${JSON.stringify(outcomes)}; ACTIVE rows in the database: ${active} → ${correct ? 'correct' : 'WRONG'}`);
    console.log(`  latency by outcome: ${JSON.stringify(latencyByOutcome)} ms`);
    console.log(`  CPU ms spent during the race, by process: ${JSON.stringify(raceCpu)}`);


    // --- 2. noisy neighbour: B keeps enrolling while A's roster import runs ------------------
    const importTarget = await schedule(adminA, globalId('Course', courseA.id), IMPORT_ROWS);
    const good = aMembers.slice(0, IMPORT_ROWS - BAD_ROWS).map((m) => m.email);
    const bad = Array.from({ length: BAD_ROWS }, (_, i) => (i % 2 ? `not-an-email-${i}` : `stranger-${i}@nowhere.example`));
    const csv = ['email', ...good.slice(0, good.length / 2), ...bad, ...good.slice(good.length / 2)].join('\n');
    const tImport = performance.now();
    const started = ok(await post(gw, IMPORT, { i: { offeringId: importTarget.offeringId, cohortId: importTarget.cohortId, csv, idempotencyKey: idem() } }, adminA), 'importRoster');
    const importId = started.rosterImport.id as string;
    let status: Json = null;
    const during = { ms: [] as number[], failures: 0 };
    let nextB = 150;
    const poll = (async () => {
      for (;;) {
        status = (await post(gw, IMPORT_STATUS, { id: importId }, adminA)).body.data?.rosterImport;
        if (status?.status === 'COMPLETED' || status?.status === 'FAILED') return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    let importDone = false;
    void poll.then(() => (importDone = true));
    // B keeps enrolling (in rounds of the same size as before) for as long as the import runs.
    while (!importDone && nextB < bMembers.length) {
      const to = Math.min(bMembers.length, nextB + 25);
      const r = await pool(bMembers.slice(nextB, to), NEIGHBOUR_CONCURRENCY, async (_m, i) => {
        const x = await post(gw, ENROLL, { i: { cohortId: targetB.cohortId, idempotencyKey: idem() } }, bTokens[nextB + i]);
        during.ms.push(x.ms);
        if (x.body.data?.enrollLearner?.enrollment?.status !== 'ACTIVE') during.failures++;
      });
      void r;
      nextB = to;
    }
    await poll;
    const importMs = performance.now() - tImport;
    const duringImport = { latencyMs: percentiles(during.ms, [50, 99]), n: during.ms.length, failures: during.failures };
    console.log(`neighbour during the import: ${JSON.stringify(duringImport)}`);
    console.log(`import: ${IMPORT_ROWS} rows (${BAD_ROWS} bad) in ${(importMs / 1000).toFixed(1)} s → ${JSON.stringify(status)}`);
    const rerun = ok(await post(gw, IMPORT, { i: { offeringId: importTarget.offeringId, cohortId: importTarget.cohortId, csv, idempotencyKey: idem() } }, adminA), 'importRoster');
    let again: Json = null;
    for (;;) {
      again = (await post(gw, IMPORT_STATUS, { id: rerun.rosterImport.id }, adminA)).body.data?.rosterImport;
      if (again?.status === 'COMPLETED' || again?.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`re-run: ${JSON.stringify(again)}`);

    return {
      bench: 'enroll',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      race: { racers: RACERS, seats: SEATS, concurrency: RACE_CONCURRENCY, latencyMs: raceLatency, latencyByOutcomeMs: latencyByOutcome, cpuMsByProcess: raceCpu, wallMs: Math.round(raceWall), outcomes, activeInDatabase: active, correct },
      neighbour: {
        concurrency: NEIGHBOUR_CONCURRENCY,
        alone,
        duringImport,
        ratioP50: duringImport.latencyMs.p50! / alone.latencyMs.p50!,
        ratioP99: duringImport.latencyMs.p99! / alone.latencyMs.p99!,
      },
      import: { rows: IMPORT_ROWS, badRows: BAD_ROWS, seconds: importMs / 1000, status, rerun: again },
    };
  } finally {
    for (const close of closers) await close();
    await admin.end();
    await stack.close();
  }
}
