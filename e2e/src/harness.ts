// Starts every subgraph and the gateway in-process on free ports against a fresh test
// database, and runs typed operations (from e2e/operations via codegen) through the gateway.
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createTestDatabase, type TestDatabase } from '@lectern/testkit';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { loadEnv as catalogEnv, migrations as catalogMigrations, startCatalog } from '@lectern/catalog/server';
import { loadEnv as enrollmentEnv, migrations as enrollmentMigrations, startEnrollment, startEnrollmentWorker } from '@lectern/enrollment/server';
import { loadEnv as learningEnv, migrations as learningMigrations, startLearning, startLearningWorker } from '@lectern/learning/server';
import { loadEnv as notificationsEnv, migrations as notificationsMigrations, startNotifications } from '@lectern/notifications/server';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';

export interface Stack {
  db: TestDatabase;
  identity: Awaited<ReturnType<typeof startIdentity>>;
  catalog: Awaited<ReturnType<typeof startCatalog>>;
  enrollment: Awaited<ReturnType<typeof startEnrollment>>;
  learning: Awaited<ReturnType<typeof startLearning>>;
  notifications: Awaited<ReturnType<typeof startNotifications>>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  /** enrollment's and learning's workers (relays, consumers, roster imports, heartbeat flusher), when asked for. */
  workers: { close(): Promise<void> }[];
  url: string;
  close(): Promise<void>;
}

export async function startStack(label: string, gatewayOverrides: Record<string, string> = {}, opts: { workers?: boolean } = {}): Promise<Stack> {
  const db = await createTestDatabase({
      identity: identityMigrations,
      catalog: catalogMigrations,
      enrollment: enrollmentMigrations,
      learning: learningMigrations,
      notifications: notificationsMigrations,
    }, label);
  const identity = await startIdentity(identityEnv(db.env));
  const catalog = await startCatalog(catalogEnv(db.env));
  // enrollment and learning read catalog's and identity's internal endpoints.
  const peers = { ...db.env, IDENTITY_URL: identity.url, CATALOG_URL: catalog.url };
  const enrollment = await startEnrollment(enrollmentEnv(peers));
  const learning = await startLearning(learningEnv(peers));
  const workers = opts.workers
    ? [await startEnrollmentWorker(enrollmentEnv({ ...peers, WORKER_PORT: '0' })), await startLearningWorker(learningEnv({ ...peers, WORKER_PORT: '0' }))]
    : [];
  const notifications = await startNotifications(notificationsEnv(db.env));
  const gateway = await startGateway(
    gatewayEnv({ ...db.env, IDENTITY_URL: identity.url, CATALOG_URL: catalog.url,
      ENROLLMENT_URL: enrollment.url,
      LEARNING_URL: learning.url,
      NOTIFICATIONS_URL: notifications.url, ...gatewayOverrides }),
  );
  return {
    db,
    identity,
    catalog,
    enrollment,
    learning,
    notifications,
    gateway,
    workers,
    url: gateway.url,
    async close() {
      await gateway.close();
      for (const w of workers) await w.close();
      await catalog.close();
      await enrollment.close();
      await learning.close();
      await notifications.close();
      await identity.close();
      await db.drop();
    },
  };
}

export interface Result<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  body: string;
}

/** Runs a typed operation through the gateway. */
export async function run<T, V>(url: string, doc: TypedDocumentNode<T, V>, variables: V, token?: string, headers: Record<string, string> = {}): Promise<Result<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const body = await res.text();
  const parsed = JSON.parse(body) as { data?: T; errors?: Result<T>['errors'] };
  return { status: res.status, data: parsed.data, errors: parsed.errors, body };
}
