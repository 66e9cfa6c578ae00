import { parseEnv, z } from '@lectern/kernel/env';

/** Where tests find PostgreSQL, and how loud the processes under test are. */
export const testEnv = parseEnv(
  z.object({
    DATABASE_ADMIN_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
    TEST_DATABASE_SERVER: z.string().default('postgres://127.0.0.1:5432/'),
    TEST_LOG_LEVEL: z.string().default('silent'),
  }),
  process.env,
);
