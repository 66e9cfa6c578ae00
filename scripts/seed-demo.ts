// Seeds the demo organization (idempotent): an admin, an instructor, two learners, and a
// small catalog. Each subgraph's rows are written through that subgraph's own entities,
// connected as its own runtime role. `pnpm dev` calls seedDemo before it starts the processes
// and seedDemoEnrollments once the gateway answers; from a shell (docker-compose.yml does both):
//   node scripts/seed-demo.ts                   the organization, its people and catalog
//   node scripts/seed-demo.ts --gateway <url>   then, through the running gateway at <url>
//                                               (…/graphql), the demo offering, cohort and enrollments
import { createOrm } from '@lectern/kernel/orm';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { globalId } from '@lectern/kernel/ids';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedDemoCatalog } from '@lectern/catalog/testing';

export const DEMO_SLUG = 'demo';
export const DEMO_PASSWORD = TEST_PASSWORD;

export async function seedDemo(env = parseEnv(databaseEnv)) {
  const identityOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'identity', entities: identityEntities, password: process.env.IDENTITY_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD });
  const catalogOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'catalog', entities: catalogEntities, password: process.env.CATALOG_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD });
  try {
    const people = await seedOrganizationWithPeople(identityOrm, DEMO_SLUG, 'demo.lectern.dev');
    await seedDemoCatalog(catalogOrm, { tenantId: people.org.id, authorIds: [people.admin.id, people.instructor.id] });
    return people;
  } finally {
    await identityOrm.close();
    await catalogOrm.close();
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
  for (const who of ['admin', 'instructor', 'learner', 'learner2'] as const) console.log(`  ${people[who].email}  ${people[who].roles.join(',')}`);
  if (gateway) {
    const token = await demoAdminToken(gateway, people.admin.email);
    const scheduled = token ? await seedDemoEnrollments(gateway, token, people) : null;
    if (!scheduled) {
      console.error(token ? 'the demo offering could not be scheduled (see the gateway and enrollment logs)' : `the demo admin could not sign in through ${gateway}`);
      process.exit(1);
    }
    console.log(`offering "Introduction to SQL" (${scheduled.offeringId}): the instructor teaches its cohort, both learners are enrolled`);
  }
}

/** Signs the demo admin in through the gateway (as `pnpm dev` does); the access token, or null. */
export async function demoAdminToken(graphqlUrl: string, email: string): Promise<string | null> {
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
 * "Introduction to SQL" with one cohort taught by the demo instructor, and both demo learners
 * enrolled. Safe to run at every start: an offering already there is kept (idempotency keys
 * expire and are purged, so they alone would not do), and enrolling twice changes nothing.
 */
export async function seedDemoEnrollments(
  graphqlUrl: string,
  token: string,
  people: { instructor: { id: string }; learner: { id: string }; learner2: { id: string } },
): Promise<{ offeringId: string; cohortId: string } | null> {
  const call = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the few fields read are checked below
    return ((await res.json()) as { data?: any }).data;
  };
  const course = (
    await call('query($s: String!) { courseBySlug(slug: $s) { id offerings(first: 1) { nodes { id cohorts(first: 1) { nodes { id } } } } } }', { s: 'introduction-to-sql' })
  )?.courseBySlug;
  if (!course) return null;
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
