// Seeds the demo organization (idempotent): an admin, an instructor, two learners, and a
// small catalog. Each subgraph's rows are written through that subgraph's own entities,
// connected as its own runtime role.
import { createOrm } from '@lectern/kernel/orm';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
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
  const people = await seedDemo();
  console.log(`demo organization "${people.org.slug}" ready; password for every demo login: ${DEMO_PASSWORD}`);
  for (const who of ['admin', 'instructor', 'learner', 'learner2'] as const) console.log(`  ${people[who].email}  ${people[who].roles.join(',')}`);
}
