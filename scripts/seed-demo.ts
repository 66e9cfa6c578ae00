// Seeds the demo organization (idempotent): an admin, an instructor, two learners, a small
// catalog with its quizzes, and the demo video every VIDEO lesson shows (made by ffmpeg, then
// transcoded by the media worker). Each subgraph's rows are written through that subgraph's own entities,
// connected as its own runtime role. `pnpm dev` calls seedDemo before it starts the processes
// and seedDemoEnrollments then seedDemoSession once the gateway answers; from a shell
// (docker-compose.yml does both):
//   node scripts/seed-demo.ts                   the organization, its people and catalog
//   node scripts/seed-demo.ts --gateway <url>   then, through the running gateway at <url>
//                                               (…/graphql), the demo offering, cohort and
//                                               enrollments, and a scheduled live session
import { createHash, randomUUID } from 'node:crypto';
import { createOrm } from '@lectern/kernel/orm';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { globalId } from '@lectern/kernel/ids';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedDemoCatalog } from '@lectern/catalog/testing';
import { entities as assessmentEntities } from '@lectern/assessment/server';
import { seedDemoAssessment } from '@lectern/assessment/testing';
import { loadEnv as mediaEnv, type MediaEnv } from '@lectern/media/server';
import { DEMO_VIDEO_SECONDS, seedDemoVideo, type DemoVideoOutcome } from '@lectern/media/testing';
import { inTenant } from '@lectern/kernel/uow';

export const DEMO_SLUG = 'demo';
export const DEMO_PASSWORD = TEST_PASSWORD;
/** The live session seedDemoSession schedules in the demo offering. */
export const DEMO_SESSION_TITLE = 'Introduction to SQL: live Q&A';

/**
 * `media`: the media subgraph's settings (its storage, Redis), where the demo video goes;
 * by default the environment's, as the media processes `pnpm dev` starts read it.
 */
export async function seedDemo(env = parseEnv(databaseEnv), opts: { media?: MediaEnv } = {}) {
  const identityOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'identity', entities: identityEntities, password: process.env.IDENTITY_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD });
  const catalogOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'catalog', entities: catalogEntities, password: process.env.CATALOG_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD });
  const assessmentOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'assessment', entities: assessmentEntities, password: process.env.ASSESSMENT_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD });
  try {
    const people = await seedOrganizationWithPeople(identityOrm, DEMO_SLUG, 'demo.lectern.dev');
    // Each QUIZ lesson links to a demo quiz; the ids are derived from the lesson's title, so a
    // second run finds the same quizzes.
    const quizIdFor = (title: string) => uuidFrom(`${people.org.id}:quiz:${title}`);
    // Every VIDEO lesson shows the one demo video media transcodes (seedDemoVideo).
    const demoVideo = { videoAssetId: uuidFrom(`${people.org.id}:video:demo`), durationSeconds: DEMO_VIDEO_SECONDS };
    const courses = await seedDemoCatalog(catalogOrm, { tenantId: people.org.id, authorIds: [people.admin.id, people.instructor.id], quizIdFor, demoVideo });
    const quizzes = courses.flatMap((c) => c.modules.flatMap((m) => m.lessons.filter((l) => l.kind === 'QUIZ').map((l) => ({ quizId: quizIdFor(l.title), courseId: c.id, title: l.title }))));
    await seedDemoAssessment(assessmentOrm, { tenantId: people.org.id, authorId: people.instructor.id, quizzes });
    const published = await inTenant(catalogOrm, people.org.id, (uow) =>
      uow.statement<{ course_id: string; version_id: string }>(
        `select course_id, id as version_id from course_versions where tenant_id = ? and status <> 'DRAFT'`,
        [people.org.id],
      ),
    );
    const video: DemoVideoOutcome = await seedDemoVideo(opts.media ?? mediaEnv({ DATABASE_URL: env.DATABASE_URL }), {
      tenantId: people.org.id,
      videoId: demoVideo.videoAssetId,
      title: 'Welcome to Lectern (demo video)',
      createdBy: people.admin.id,
      published: published.map((p) => ({ courseId: p.course_id, versionId: p.version_id })),
      databasePassword: process.env.MEDIA_DATABASE_PASSWORD,
    });
    return { ...people, demoVideo: { id: globalId('VideoAsset', demoVideo.videoAssetId), outcome: video } };
  } finally {
    await identityOrm.close();
    await catalogOrm.close();
    await assessmentOrm.close();
  }
}

if (import.meta.main) {
  const flag = process.argv.indexOf('--gateway');
  const gateway = flag === -1 ? undefined : process.argv[flag + 1];
  if (flag !== -1 && !gateway) {
    console.error('usage: node scripts/seed-demo.ts [--gateway http://<host>:4000/graphql]');
    process.exit(2);
  }
  const people = await seedDemo();
  console.log(`demo organization "${people.org.slug}" ready; password for every demo login: ${DEMO_PASSWORD}`);
  console.log(people.demoVideo.outcome === 'no ffmpeg' ? 'demo video skipped: ffmpeg is not installed (apt-get install ffmpeg)' : `demo video ${people.demoVideo.id}: ${people.demoVideo.outcome === 'created' ? 'handed to the media worker to transcode' : 'already there'}`);
  for (const who of ['admin', 'instructor', 'learner', 'learner2'] as const) console.log(`  ${people[who].email}  ${people[who].roles.join(',')}`);
  if (gateway) {
    const token = await demoLoginToken(gateway, people.admin.email);
    const scheduled = token ? await seedDemoEnrollments(gateway, token, people) : null;
    if (!scheduled) {
      console.error(token ? 'the demo offering could not be scheduled (see the gateway and enrollment logs)' : `the demo admin could not sign in through ${gateway}`);
      process.exit(1);
    }
    console.log(`offering "Introduction to SQL" (${scheduled.offeringId}): the instructor teaches its cohort, both learners are enrolled`);
    const live = await seedDemoSession(gateway, token!, scheduled.offeringId, 60_000);
    if (!live) {
      console.error('the demo live session could not be scheduled (see the gateway, live and enrollment worker logs)');
      process.exit(1);
    }
    console.log(`live session "${DEMO_SESSION_TITLE}" (${live.sessionId}): ${live.status}, starts ${live.startsAt}`);
  }
}

/** A UUID (version 4 layout) derived from `name`: the same name, the same id. */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Signs a demo login (by email) in through the gateway, as `pnpm dev` does for the admin; the access token, or null. */
export async function demoLoginToken(graphqlUrl: string, email: string): Promise<string | null> {
  const res = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
      variables: { input: { email, password: DEMO_PASSWORD, organizationSlug: DEMO_SLUG } },
    }),
  });
  const body = (await res.json()) as { data?: { login: { accessToken: string | null } | null } };
  return body.data?.login?.accessToken ?? null;
}

/**
 * The demo's scheduling, through the running gateway as the demo admin (enrollment reads the
 * published course version from catalog, so it needs the processes up): an offering of
 * "Introduction to SQL" with one cohort taught by the demo instructor, both demo learners
 * enrolled, and the course's certificate rule (completing it issues a certificate). Safe to run at every start: an offering already there is kept (idempotency keys
 * expire and are purged, so they alone would not do), and enrolling twice changes nothing.
 */
export async function seedDemoEnrollments(
  graphqlUrl: string,
  token: string,
  people: { instructor: { id: string }; learner: { id: string }; learner2: { id: string } },
): Promise<{ offeringId: string; cohortId: string } | null> {
  const call = caller(graphqlUrl, token);
  const course = (
    await call('query($s: String!) { courseBySlug(slug: $s) { id offerings(first: 1) { nodes { id cohorts(first: 1) { nodes { id } } } } } }', { s: 'introduction-to-sql' })
  )?.courseBySlug;
  if (!course) return null;
  // Completing the course earns a certificate (valid two years); the rule is an upsert, safe to repeat.
  await call('mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }', {
    i: { courseId: course.id, enabled: true, validForDays: 730, idempotencyKey: 'demo-certificate-rule-sql' },
  });
  const existing = course.offerings?.nodes?.[0];
  if (existing?.cohorts?.nodes?.[0]) return { offeringId: existing.id, cohortId: existing.cohorts.nodes[0].id };
  const year = new Date().getUTCFullYear();
  const offering = (
    await call('mutation($i: CreateOfferingInput!) { createOffering(input: $i) { offering { id } } }', {
      i: {
        courseId: course.id,
        title: `Introduction to SQL, ${year}`,
        startsAt: `${year}-01-01T00:00:00Z`,
        endsAt: `${year + 1}-12-31T00:00:00Z`,
        selfEnrollment: true,
        waitlistEnabled: true,
        idempotencyKey: 'demo-offering-sql',
      },
    })
  )?.createOffering?.offering;
  if (!offering) return null;
  const cohort = (
    await call('mutation($i: CreateCohortInput!) { createCohort(input: $i) { cohort { id } } }', {
      i: { offeringId: offering.id, name: 'Evening cohort', capacity: 25, instructorIds: [globalId('User', people.instructor.id)], idempotencyKey: 'demo-cohort-sql' },
    })
  )?.createCohort?.cohort;
  if (!cohort) return null;
  for (const [n, learner] of [people.learner, people.learner2].entries()) {
    await call('mutation($i: EnrollLearnerInput!) { enrollLearner(input: $i) { enrollment { id } } }', {
      i: { cohortId: cohort.id, learnerId: globalId('User', learner.id), idempotencyKey: `demo-enroll-sql-${n}` },
    });
  }
  return { offeringId: offering.id, cohortId: cohort.id };
}

/** POSTs one operation through the gateway as `token`'s holder; the answer's `data` (undefined when none). */
function caller(graphqlUrl: string, token: string) {
  return async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the few fields read are checked by the callers
    return ((await res.json()) as { data?: any }).data;
  };
}

/**
 * The demo's live class, through the running gateway as the demo admin: one SCHEDULED session of
 * the demo offering (tomorrow, 17:00 to 18:00 UTC), so the playground has a session to subscribe
 * to. live learns an offering's cohorts from enrollment's events (its worker consumes them), so
 * just after seedDemoEnrollments it may not know the offering yet: scheduling answers
 * OFFERING_NOT_FOUND and is tried again, each time with a fresh idempotency key (the refusal is
 * stored under the key), for up to `waitMs`. Safe to run at every start: a session of the offering
 * with this title already there is kept (whatever its status, which is answered). Null when live cannot schedule it.
 */
export async function seedDemoSession(graphqlUrl: string, token: string, offeringId: string, waitMs = 20_000): Promise<{ sessionId: string; status: string; startsAt: string } | null> {
  const call = caller(graphqlUrl, token);
  const startsAt = new Date();
  startsAt.setUTCDate(startsAt.getUTCDate() + 1);
  startsAt.setUTCHours(17, 0, 0, 0);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const offering = (await call('query($id: ID!) { node(id: $id) { ... on Offering { sessions(first: 100) { nodes { id title status startsAt } } } } }', { id: offeringId }))?.node;
    const existing = (offering?.sessions?.nodes as { id: string; title: string; status: string; startsAt: string }[] | undefined)?.find((s) => s.title === DEMO_SESSION_TITLE);
    if (existing) return { sessionId: existing.id, status: existing.status, startsAt: existing.startsAt };
    const scheduled = (
      await call('mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id status startsAt } errors { code } } }', {
        i: {
          offeringId,
          title: DEMO_SESSION_TITLE,
          startsAt: startsAt.toISOString(),
          endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
          joinUrl: 'https://meet.example.com/lectern-demo-sql',
          idempotencyKey: `demo-session-sql-${randomUUID()}`,
        },
      })
    )?.scheduleSession;
    if (scheduled?.session) return { sessionId: scheduled.session.id, status: scheduled.session.status, startsAt: scheduled.session.startsAt };
    if (scheduled?.errors?.[0]?.code !== 'OFFERING_NOT_FOUND' || Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The demo quiz of "Introduction to SQL" ("Join practice") once `learnerToken`'s holder sees it:
 * assessment hears of the demo enrollments from enrollment's events, so just after
 * seedDemoEnrollments it may not show it to them yet; asked again for up to `waitMs`. Null when
 * it never shows.
 */
export async function demoQuiz(graphqlUrl: string, learnerToken: string, waitMs = 20_000): Promise<{ quizId: string; title: string } | null> {
  const call = caller(graphqlUrl, learnerToken);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const quiz = (await call('{ courseBySlug(slug: "introduction-to-sql") { quizzes { id title } } }', {}).catch(() => undefined))?.courseBySlug?.quizzes?.[0];
    if (quiz) return { quizId: quiz.id, title: quiz.title };
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}
