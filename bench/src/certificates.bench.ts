// `pnpm bench certificates`: certificates issued per second from BENCH_CERTIFICATES (1,000)
// course completions, end to end, as separate processes on a scratch database (identity,
// every subgraph (the gateway is ready once all answer) and the gateway; learning's and certification's workers;
// production mode, local storage in a scratch folder; BENCH_CERTIFICATE_WORKERS certification
// worker processes, 1 by default, each with BENCH_CERTIFICATE_CONCURRENCY jobs at once).
// 1,000 learners of one organization and a published course whose rule an ORG_ADMIN enables
// through the gateway. Then 1,000 CourseCompleted events are committed at once to learning's
// outbox (what learning writes when a learner completes a course), and the clock runs until
// every certificate is ISSUED: learning's relay → BullMQ → certification's consumer (the rule,
// one certificate per completion, a status list entry) → the issue-certificate job (identity
// and catalog asked, the OB 3.0 credential signed, the PDF rendered and stored).
// Reported: certificates/s over the whole run, latency from the event's commit to ISSUED
// (p50/p99), the CPU each process spent, the PDFs' size. Every credential is then checked to
// verify (a sample through the public endpoint: signature, issuer, status).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { globalId, inTenant } from '@lectern/kernel';
import { createOrm } from '@lectern/kernel/orm';
import { recordEvents } from '@lectern/kernel/outbox';
import { CourseCompleted } from '@lectern/contracts/learning';
import { entities as identityEntities } from '@lectern/identity/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { seedCourse } from '@lectern/catalog/testing';
import { entities as learningEntities } from '@lectern/learning/server';
import { idem } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { cpuSnapshot, cpuSpent, percentiles, post, startBenchStack, type Json } from './stack.ts';

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function certificatesBench() {
  const n = benchEnv.BENCH_CERTIFICATES;
  const scratch = await mkdtemp(join(os.tmpdir(), 'lectern-bench-certificates-'));
  const stack = await startBenchStack({
    label: 'bench-certificates',
    workers: ['learning', 'certification'],
    replicas: { certification: benchEnv.BENCH_CERTIFICATE_WORKERS },
    env: { STORAGE_DIR: join(scratch, 'objects'), CERTIFICATE_CONCURRENCY: String(benchEnv.BENCH_CERTIFICATE_CONCURRENCY) },
  });
  const admin = new pg.Pool({ connectionString: stack.db.adminUrl, max: 2 });
  try {
    const identityOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'identity', entities: identityEntities });
    const org = await seedOrganizationWithPeople(identityOrm, 'bench-certificates');
    const learners = await seedManyMembers(identityOrm, org.org, { count: n });
    const token = await accessTokenFor(identityOrm, org.admin, org.org, 7200);
    await identityOrm.close();
    const catalogOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'catalog', entities: catalogEntities });
    const course = await seedCourse(catalogOrm, { tenantId: org.org.id, authorId: org.admin.id, title: 'Workplace safety', published: true });
    await catalogOrm.close();
    const { rows: published } = await admin.query(`select published_version_id as id from catalog.courses where id = $1`, [course.id]);
    const versionId: string = published[0].id;
    const rule = await post(stack.gatewayUrl, `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, {
      i: { courseId: globalId('Course', course.id), enabled: true, validForDays: 365, idempotencyKey: idem() },
    }, token);
    if (rule.body.errors || rule.body.data.setCertificateRule.errors.length) throw new Error(`setCertificateRule: ${JSON.stringify(rule.body)}`);

    // The completions, committed at once to learning's outbox (its relay is woken by the commit).
    const learningOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'learning', entities: learningEntities });
    const cpu0 = cpuSnapshot();
    const t0 = Date.now();
    await inTenant(learningOrm, org.org.id, (uow) =>
      uow.write((em) =>
        recordEvents(em, CourseCompleted, org.org.id, learners.map((learner) => {
          const enrollmentId = crypto.randomUUID();
          return { aggregateId: enrollmentId, payload: { enrollmentId, learnerId: learner.id, courseId: course.id, courseVersionId: versionId } };
        })),
      ),
    );
    await learningOrm.close();
    console.log(`${n} completions committed; waiting for their certificates...`);
    let issued = 0;
    let lastReport = Date.now();
    for (;;) {
      const { rows } = await admin.query(`select count(*) filter (where status = 'ISSUED')::int as issued, count(*) filter (where status = 'FAILED')::int as failed from certification.certificates`);
      issued = rows[0].issued;
      if (rows[0].failed) throw new Error(`${rows[0].failed} certificates FAILED`);
      if (issued >= n) break;
      if (Date.now() - lastReport > 5000) {
        console.log(`  ${issued} issued after ${round1((Date.now() - t0) / 1000)} s`);
        lastReport = Date.now();
      }
      if (Date.now() - t0 > 30 * 60_000) throw new Error(`only ${issued} of ${n} issued in 30 minutes`);
      await new Promise((r) => setTimeout(r, 100)); // the observer's polling interval, not a wait for the system
    }
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSpent(cpu0);
    const { rows: lat } = await admin.query(`select extract(epoch from (c.updated_at - $1::timestamptz)) * 1000 as ms, c.pdf_bytes from certification.certificates c`, [new Date(t0)]);
    const latencies = lat.map((r: Json) => Number(r.ms));
    const pdfKb = lat.map((r: Json) => Number(r.pdf_bytes) / 1024);
    const { rows: dup } = await admin.query(`select count(*)::int as certificates, count(distinct enrollment_id)::int as completions from certification.certificates`);
    const rate = n / wall;
    console.log(`issued ${n} certificates in ${round1(wall)} s = ${round1(rate)} certificates/s (p50 ${Math.round(percentiles(latencies).p50!)} ms, p99 ${Math.round(percentiles(latencies).p99!)} ms after the commit)`);

    // A sample verified through the public endpoint (signature, issuer, status list).
    const { rows: sample } = await admin.query(`select credential from certification.certificates order by random() limit 20`);
    const base = new URL(stack.subgraphUrl('certification')).origin;
    const verdicts = await Promise.all(sample.map(async (r: Json) => (await (await fetch(`${base}/certification/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.credential) })).json()).status));
    if (verdicts.some((v) => v !== 'VALID')) throw new Error(`a sample credential did not verify: ${verdicts.join(', ')}`);
    console.log(`${sample.length} sampled credentials: VALID through /certification/verify`);
    return {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model },
      completions: n,
      workerProcesses: benchEnv.BENCH_CERTIFICATE_WORKERS,
      workerConcurrency: benchEnv.BENCH_CERTIFICATE_CONCURRENCY,
      wallSeconds: round1(wall),
      certificatesPerSecond: round1(rate),
      latencyMs: Object.fromEntries(Object.entries(percentiles(latencies)).map(([k, v]) => [k, Math.round(v)])),
      pdfKb: { mean: round1(pdfKb.reduce((a, b) => a + b, 0) / pdfKb.length) },
      oneCertificatePerCompletion: dup[0],
      cpuMs: cpu,
      sampleVerified: sample.length,
    };
  } finally {
    await admin.end();
    await stack.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
