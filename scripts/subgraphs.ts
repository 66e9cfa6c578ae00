// The subgraphs of this repository, in start order, for the scripts that run them all.
import type { Migration } from '@lectern/kernel/db';
import { migrations as identityMigrations } from '@lectern/identity/server';
import { migrations as catalogMigrations } from '@lectern/catalog/server';
import { migrations as notificationsMigrations } from '@lectern/notifications/server';
import { migrations as enrollmentMigrations } from '@lectern/enrollment/server';
import { migrations as learningMigrations } from '@lectern/learning/server';
import { migrations as liveMigrations } from '@lectern/live/server';
import { migrations as assessmentMigrations } from '@lectern/assessment/server';
import { migrations as mediaMigrations } from '@lectern/media/server';
import { migrations as certificationMigrations } from '@lectern/certification/server';

export interface SubgraphInfo {
  name: string;
  port: number;
  main: string;
  migrations: Migration[];
  /** The gateway's variable for its URL. */
  urlEnv: string;
  /** Its background worker process (outbox relay, consumers, jobs) and that process's port. */
  worker: string;
  workerPort: number;
}

export const SUBGRAPHS: SubgraphInfo[] = [
  { name: 'identity', port: 4001, main: 'subgraphs/identity/src/main.ts', migrations: identityMigrations, urlEnv: 'IDENTITY_URL', worker: 'subgraphs/identity/src/worker.ts', workerPort: 5001 },
  { name: 'catalog', port: 4002, main: 'subgraphs/catalog/src/main.ts', migrations: catalogMigrations, urlEnv: 'CATALOG_URL', worker: 'subgraphs/catalog/src/worker.ts', workerPort: 5002 },
  { name: 'enrollment', port: 4003, main: 'subgraphs/enrollment/src/main.ts', migrations: enrollmentMigrations, urlEnv: 'ENROLLMENT_URL', worker: 'subgraphs/enrollment/src/worker.ts', workerPort: 5003 },
  { name: 'learning', port: 4004, main: 'subgraphs/learning/src/main.ts', migrations: learningMigrations, urlEnv: 'LEARNING_URL', worker: 'subgraphs/learning/src/worker.ts', workerPort: 5004 },
  { name: 'notifications', port: 4005, main: 'subgraphs/notifications/src/main.ts', migrations: notificationsMigrations, urlEnv: 'NOTIFICATIONS_URL', worker: 'subgraphs/notifications/src/worker.ts', workerPort: 5005 },
  { name: 'live', port: 4006, main: 'subgraphs/live/src/main.ts', migrations: liveMigrations, urlEnv: 'LIVE_URL', worker: 'subgraphs/live/src/worker.ts', workerPort: 5006 },
  { name: 'assessment', port: 4007, main: 'subgraphs/assessment/src/main.ts', migrations: assessmentMigrations, urlEnv: 'ASSESSMENT_URL', worker: 'subgraphs/assessment/src/worker.ts', workerPort: 5007 },
  { name: 'media', port: 4008, main: 'subgraphs/media/src/main.ts', migrations: mediaMigrations, urlEnv: 'MEDIA_URL', worker: 'subgraphs/media/src/worker.ts', workerPort: 5008 },
  { name: 'certification', port: 4009, main: 'subgraphs/certification/src/main.ts', migrations: certificationMigrations, urlEnv: 'CERTIFICATION_URL', worker: 'subgraphs/certification/src/worker.ts', workerPort: 5009 },
];
