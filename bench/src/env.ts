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
    /** `pnpm bench live`: WebSocket subscribers of one session (one learner each), and chat messages fanned out to them. */
    BENCH_LIVE_SUBSCRIBERS: z.coerce.number().int().positive().default(10_000),
    BENCH_LIVE_MESSAGES: z.coerce.number().int().positive().default(20),
    /** Unmeasured messages fanned out first (JIT, first query plans, pools). */
    BENCH_LIVE_WARMUP: z.coerce.number().int().min(0).default(2),
    /** WebSocket handshakes, and subscriptions not yet active, in flight at once. */
    BENCH_LIVE_CONCURRENCY: z.coerce.number().int().positive().default(200),
    /** Which runs, in order: through the gateway, straight at the live subgraph. */
    BENCH_LIVE_MODES: z
      .string()
      .default('gateway,direct')
      .transform((s) => s.split(',').map((m) => m.trim()))
      .pipe(z.array(z.enum(['gateway', 'direct'])).min(1)),
    /** CPU-profiles the server of each live run (gateway, or the live subgraph) during the fan-out, through its inspector. */
    BENCH_LIVE_PROFILE: z.stringbool().default(false),
    /** `pnpm bench media`: seconds of the 1080p source, upload rounds, and the tus chunk size (MiB). */
    BENCH_MEDIA_SECONDS: z.coerce.number().int().positive().default(60),
    BENCH_MEDIA_UPLOAD_ROUNDS: z.coerce.number().int().positive().default(3),
    BENCH_MEDIA_CHUNK_MIB: z.coerce.number().int().positive().default(8),
    /** `pnpm bench certificates`: completions (one learner each), and the certification worker's concurrency. */
    BENCH_CERTIFICATES: z.coerce.number().int().positive().default(1000),
    BENCH_CERTIFICATE_CONCURRENCY: z.coerce.number().int().positive().default(4),
    BENCH_CERTIFICATE_WORKERS: z.coerce.number().int().positive().max(8).default(1),
    /** `pnpm bench fairness`: organization A's steady load (requests/s, open loop) and how long each phase measures it (s). */
    BENCH_FAIRNESS_RATE: z.coerce.number().positive().default(20),
    BENCH_FAIRNESS_SECONDS: z.coerce.number().positive().default(60),
    /**
     * The gateway's limits in the run (its RATE_LIMIT_*): every organization's, and every user's.
     * An organization's limit is its share of what the deployment serves: here 30 federated pages/s
     * (`pnpm bench catalog`: ~350/s with every core busy). At 6000/min, with A at 50/s, B's 100/s
     * admitted and 900/s refused on the same two cores as the load generator, A's p99 rose 3.5×.
     */
    BENCH_FAIRNESS_ORG_PER_MINUTE: z.coerce.number().int().positive().default(1800),
    BENCH_FAIRNESS_ORG_BURST: z.coerce.number().int().positive().default(60),
    BENCH_FAIRNESS_USER_PER_MINUTE: z.coerce.number().int().positive().default(600),
    BENCH_FAIRNESS_USER_BURST: z.coerce.number().int().positive().default(20),
    /** The gateway's response cache in the run (its RESPONSE_CACHE): on as in production; off, every admitted request reaches the subgraphs. */
    BENCH_FAIRNESS_RESPONSE_CACHE: z.stringbool().default(true),
    /** Organization B's flood (requests/s; default 10× the organization limit) and its senders (default: enough that their user limits add up to twice the organization's). */
    BENCH_FLOOD_RATE: z.coerce.number().positive().optional(),
    BENCH_FLOOD_USERS: z.coerce.number().int().positive().optional(),
    /** `pnpm bench resilience`: each load's rate (requests/s, open loop), each phase's length (s), and catalog's timeout at the gateway (ms). */
    BENCH_RESILIENCE_RATE: z.coerce.number().positive().default(20),
    BENCH_RESILIENCE_SECONDS: z.coerce.number().positive().default(20),
    BENCH_RESILIENCE_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
    /** Prints monotonic microsecond marks around measured phases (to cut CPU profiles to them). */
    BENCH_MARKS: z.stringbool().default(false),
  }),
  process.env,
);
