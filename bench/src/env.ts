import { parseEnv, z } from '@lectern/kernel/env';

export const benchEnv = parseEnv(
  z.object({
    BENCH_DURATION: z.coerce.number().int().positive().default(8),
    BENCH_ROUNDS: z.coerce.number().int().positive().default(3),
    BENCH_CONNECTIONS: z.coerce.number().int().positive().default(10),
    /** Seconds of unmeasured load on each target before the first round (JIT, pools, query plans). */
    BENCH_WARMUP: z.coerce.number().int().min(0).default(3),
    BENCH_EVENTS: z.coerce.number().int().positive().default(2000),
    BENCH_RACERS: z.coerce.number().int().positive().default(500),
    BENCH_SEATS: z.coerce.number().int().positive().default(50),
    /** Enrollments in flight at once in the race (500: every learner at the same instant). */
    BENCH_RACE_CONCURRENCY: z.coerce.number().int().positive().default(50),
    BENCH_IMPORT_ROWS: z.coerce.number().int().positive().default(10_000),
    BENCH_NEIGHBOUR_CONCURRENCY: z.coerce.number().int().positive().default(4),
    BENCH_LEARNERS: z.coerce.number().int().positive().default(2000),
    BENCH_BEATS: z.coerce.number().int().positive().default(30_000),
    BENCH_BEAT_CONNECTIONS: z.coerce.number().int().positive().default(32),
    /** Prints monotonic microsecond marks around measured phases (to cut CPU profiles to them). */
    BENCH_MARKS: z.stringbool().default(false),
  }),
  process.env,
);
