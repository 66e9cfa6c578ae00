// Database lifecycle: `bootstrap` (roles, database, schemas; needs a superuser) and
// `migrate` (every subgraph's pending migrations, as the owner role). Both idempotent.
//   node scripts/db.ts bootstrap | migrate | setup
import { bootstrapDatabase, connectionString, databaseName, explainDatabaseError, migrate } from '@lectern/kernel/db';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { createLogger } from '@lectern/kernel/logger';
import { SUBGRAPHS } from './subgraphs.ts';

const log = createLogger('db', process.env.LOG_LEVEL ?? 'info');

export async function bootstrap(env = parseEnv(databaseEnv)) {
  await bootstrapDatabase({
    adminUrl: env.DATABASE_ADMIN_URL,
    database: databaseName(env.DATABASE_URL),
    ownerUser: env.DATABASE_OWNER_USER,
    ownerPassword: env.DATABASE_OWNER_PASSWORD,
    relayPassword: env.RELAY_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD,
    subgraphs: SUBGRAPHS.map((s) => ({ name: s.name, password: process.env[`${s.name.toUpperCase()}_DATABASE_PASSWORD`] ?? env.DATABASE_PASSWORD })),
  });
  log.info({ database: databaseName(env.DATABASE_URL) }, 'database bootstrapped');
}

export async function migrateAll(env = parseEnv(databaseEnv)) {
  const ownerUrl = connectionString(env.DATABASE_URL, { user: env.DATABASE_OWNER_USER, password: env.DATABASE_OWNER_PASSWORD });
  for (const s of SUBGRAPHS) await migrate({ ownerUrl, schema: s.name, migrations: s.migrations, log });
  log.info('migrations up to date');
}

export const explain = (err: unknown) => explainDatabaseError(err, parseEnv(databaseEnv).DATABASE_URL);

if (import.meta.main) {
  const command = process.argv[2];
  try {
    if (command === 'bootstrap' || command === 'setup') await bootstrap();
    if (command === 'migrate' || command === 'setup') await migrateAll();
    if (!['bootstrap', 'migrate', 'setup'].includes(command ?? '')) {
      console.error('usage: node scripts/db.ts bootstrap | migrate | setup');
      process.exit(2);
    }
  } catch (err) {
    console.error(`db ${command} failed: ${explain(err)}`);
    process.exit(1);
  }
}
