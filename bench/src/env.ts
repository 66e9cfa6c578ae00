import { parseEnv, z } from '@lectern/kernel/env';

export const benchEnv = parseEnv(
  z.object({
    BENCH_DURATION: z.coerce.number().int().positive().default(8),
    BENCH_ROUNDS: z.coerce.number().int().positive().default(3),
    BENCH_CONNECTIONS: z.coerce.number().int().positive().default(10),
    BENCH_EVENTS: z.coerce.number().int().positive().default(2000),
  }),
  process.env,
);
