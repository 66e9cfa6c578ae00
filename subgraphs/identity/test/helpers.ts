// What identity's test files share: a fresh database with identity running on it and two
// organizations with their people, and the actors tests call as.
import { actor, createTestDatabase, type TestDatabase } from '@lectern/testkit';
import { loadEnv, migrations, startIdentity } from '../src/server.ts';
import { seedOrganizationWithPeople } from '../src/testing/index.ts';

export type People = Awaited<ReturnType<typeof seedOrganizationWithPeople>>;

export interface IdentityHarness {
  db: TestDatabase;
  running: Awaited<ReturnType<typeof startIdentity>>;
  url: string;
  /** Two organizations (slugs `<prefix>-a`, `<prefix>-b`), each with an admin, an instructor and two learners. */
  A: People;
  B: People;
  close(): Promise<void>;
}

export async function startHarness(label: string, prefix: string, env: Record<string, string> = {}): Promise<IdentityHarness> {
  const db = await createTestDatabase({ identity: migrations }, label);
  const running = await startIdentity(loadEnv({ ...db.env, ...env }));
  const A = await seedOrganizationWithPeople(running.deps.orm, `${prefix}-a`);
  const B = await seedOrganizationWithPeople(running.deps.orm, `${prefix}-b`);
  return {
    db,
    running,
    url: running.url,
    A,
    B,
    async close() {
      await running.close();
      await db.drop();
    },
  };
}

/** An anonymous caller from a random address of `subnet` (each file its own, so IP throttles do not meet). */
export const anonymousFrom = (subnet: string) => () => actor({ kind: 'anonymous', userId: null, ip: `${subnet}.${Math.floor(Math.random() * 250)}` });

/** `who` of `org`, signed in to it. */
export const as = (org: People, who: 'admin' | 'instructor' | 'learner' | 'learner2') => actor({ userId: org[who].id, tenantId: org.org.id, roles: org[who].roles });
