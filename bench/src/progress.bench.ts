// `pnpm bench progress`: progress heartbeats through the gateway, as separate processes on a
// scratch database (every subgraph, enrollment's and learning's workers, the gateway).
// 2,000 learners are enrolled by a roster import; once learning has their enrollments, the
// players' heartbeats (recordProgress, each with its own token, lesson, position and key) are
// sent as fast as BENCH_BEAT_CONNECTIONS connections go. Measured: heartbeats/s accepted and
// their latency; the flush lag (from the last acknowledged heartbeat until PostgreSQL holds
// every one of them) and the number of PostgreSQL statements learning's processes ran.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import autocannon from 'autocannon';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { globalId } from '@lectern/kernel/ids';
import { idem } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { cpuSnapshot, cpuSpent, post, startBenchStack, type Json } from './stack.ts';

const { BENCH_LEARNERS: LEARNERS, BENCH_BEATS: BEATS, BENCH_BEAT_CONNECTIONS: CONNECTIONS } = benchEnv;
const LESSONS = 4;
const LESSON_SECONDS = 1800;
const BEAT_SECONDS = 30;

const RECORD = `mutation($i: RecordProgressInput!) { recordProgress(input: $i) { accepted duplicate errors { code } } }`;

export async function progressBench() {
  const stack = await startBenchStack({ label: 'bench-progress', workers: ['enrollment', 'learning'] });
  const admin = new pg.Pool({ connectionString: stack.db.adminUrl, max: 2 });
  // identity's ORM stays open to the end: access tokens are minted for real sessions (accessTokenFor).
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const identityOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'identity', entities: identityEntities });
    closers.push(() => identityOrm.close());
    const catalogOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'catalog', entities: catalogEntities });
    const org = await seedOrganizationWithPeople(identityOrm, 'bench-progress');
    const learners = await seedManyMembers(identityOrm, org.org, { count: LEARNERS });
    const course = await seedCourse(catalogOrm, {
      tenantId: org.org.id,
      authorId: org.admin.id,
      published: true,
      modules: [{ title: 'Videos', lessons: Array.from({ length: LESSONS }, (_, i) => ({ title: `Video ${i + 1}`, kind: 'VIDEO' as const, durationSeconds: LESSON_SECONDS })) }],
    });
    await catalogOrm.close();
    const lessons = course.modules[0]!.lessons.map((l) => globalId('Lesson', l.id));
    const gw = stack.gatewayUrl;
    const adminToken = await accessTokenFor(identityOrm, org.admin, org.org, 3600);
    const ok = (r: { body: Json }, field: string) => {
      const payload = r.body.data?.[field];
      if (!payload || payload.errors?.length || r.body.errors) throw new Error(`${field}: ${JSON.stringify(r.body).slice(0, 400)}`);
      return payload;
    };

    // --- enroll everyone (roster import) and wait until learning knows each enrollment ---------
    const now = Date.now();
    const offering = ok(
      await post(gw, `mutation($i: CreateOfferingInput!) { createOffering(input: $i) { offering { id } errors { code message } } }`, {
        i: { courseId: globalId('Course', course.id), startsAt: new Date(now - 86_400_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), idempotencyKey: idem() },
      }, adminToken),
      'createOffering',
    ).offering;
    const cohort = ok(
      await post(gw, `mutation($i: CreateCohortInput!) { createCohort(input: $i) { cohort { id } errors { code message } } }`, { i: { offeringId: offering.id, name: 'Everyone', capacity: LEARNERS, idempotencyKey: idem() } }, adminToken),
      'createCohort',
    ).cohort;
    const t0 = performance.now();
    const imported = ok(
      await post(gw, `mutation($i: ImportRosterInput!) { importRoster(input: $i) { rosterImport { id } errors { code message } } }`, {
        i: { offeringId: offering.id, cohortId: cohort.id, rows: learners.map((l) => ({ userId: globalId('User', l.id) })), idempotencyKey: idem() },
      }, adminToken),
      'importRoster',
    ).rosterImport;
    const count = async (sql: string) => Number((await admin.query(sql)).rows[0].n);
    for (;;) {
      const r = (await post(gw, `query($id: ID!) { rosterImport(id: $id) { status enrolled } }`, { id: imported.id }, adminToken)).body.data?.rosterImport;
      if (r?.status === 'COMPLETED') break;
      if (performance.now() - t0 > 120_000) throw new Error(`roster import did not finish: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    while ((await count(`select count(*) as n from learning.enrollments where status = 'ACTIVE'`)) < LEARNERS) {
      if (performance.now() - t0 > 180_000) throw new Error('learning did not receive every enrollment in time');
      await new Promise((res) => setTimeout(res, 200));
    }
    console.log(`progress bench: ${LEARNERS} learners enrolled and known to learning in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const tokens = await Promise.all(learners.map((l) => accessTokenFor(identityOrm, l, org.org, 3600)));

    // --- heartbeats ---------------------------------------------------------------------------
    // Beat n goes to learner n % LEARNERS, lesson (n / LEARNERS) % LESSONS: each (learner, lesson)
    // advances 30 s per beat, so every beat adds exactly 30 s of new watched time.
    let n = 0;
    let accepted = 0;
    let refused = 0;
    let lastAcceptedAt = 0;
    const xactBefore = await count(`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`);
    const cpu0 = cpuSnapshot();
    if (benchEnv.BENCH_MARKS) console.log(`mark load start ${process.hrtime.bigint() / 1000n}`);
    const tLoad = performance.now();
    const result = await autocannon({
      url: gw,
      method: 'POST',
      connections: CONNECTIONS,
      amount: BEATS,
      headers: { 'content-type': 'application/json' },
      requests: [
        {
          setupRequest(req) {
            const i = n++;
            const learner = i % LEARNERS;
            const round = Math.floor(i / LEARNERS);
            const lesson = round % LESSONS;
            const beat = Math.floor(round / LESSONS);
            return {
              ...req,
              headers: { ...req.headers, authorization: `Bearer ${tokens[learner]}` },
              body: JSON.stringify({
                query: RECORD,
                variables: {
                  i: {
                    lessonId: lessons[lesson],
                    position: (beat + 1) * BEAT_SECONDS,
                    secondsWatched: BEAT_SECONDS,
                    clientTimestamp: new Date().toISOString(),
                    deviceId: `web-${learner}`,
                    idempotencyKey: randomUUID(),
                  },
                },
              }),
            };
          },
          onResponse(status, body) {
            const p = status === 200 ? (JSON.parse(body) as Json).data?.recordProgress : null;
            if (p?.accepted && !p.duplicate) {
              accepted++;
              lastAcceptedAt = performance.now();
            } else refused++;
          },
        },
      ],
    });
    const loadSeconds = (performance.now() - tLoad) / 1000;
    const loadCpu = cpuSpent(cpu0);
    if (benchEnv.BENCH_MARKS) console.log(`mark load end ${process.hrtime.bigint() / 1000n}`);
    const expected = accepted * BEAT_SECONDS;
    const watched = () => count(`select coalesce(sum(watched_seconds), 0) as n from learning.lesson_progress`);
    let held = await watched();
    while (held < expected) {
      if (performance.now() - lastAcceptedAt > 120_000) throw new Error(`only ${held} of ${expected} watched seconds reached PostgreSQL`);
      await new Promise((res) => setTimeout(res, 25));
      held = await watched();
    }
    const flushLagMs = Math.max(0, performance.now() - lastAcceptedAt);
    const xacts = (await count(`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`)) - xactBefore;
    const rps = accepted / loadSeconds;
    console.log(`heartbeats: ${accepted} accepted, ${refused} refused, in ${loadSeconds.toFixed(1)} s → ${rps.toFixed(0)}/s through the gateway (${CONNECTIONS} connections)`);
    console.log(`  latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; errors ${result.errors}, non-2xx ${result.non2xx}`);
    console.log(`  flush lag after the last acknowledged heartbeat: ${Math.round(flushLagMs)} ms; watched seconds in PostgreSQL ${held} = ${expected} expected`);
    console.log(`  PostgreSQL transactions in the database during the load and flush: ${xacts} (for ${accepted} heartbeats)`);
    console.log(`  CPU ms spent during the load, by process: ${JSON.stringify(loadCpu)}`);
    return {
      bench: 'progress',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      settings: { learners: LEARNERS, lessons: LESSONS, beats: BEATS, connections: CONNECTIONS },
      heartbeats: { accepted, refused, seconds: loadSeconds, perSecond: rps, latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max }, errors: result.errors + result.non2xx, cpuMsByProcess: loadCpu },
      flush: { lagMs: Math.round(flushLagMs), watchedSecondsInDatabase: held, expected, transactions: xacts },
    };
  } finally {
    for (const close of closers) await close();
    await admin.end();
    await stack.close();
  }
}
