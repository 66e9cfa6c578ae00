// Configuration of the baseline processes (set by start.ts), parsed once.
import { parseEnv, z } from '@lectern/kernel/env';

export const baselineEnv = parseEnv(
  z.object({
    PORT: z.coerce.number().int().min(0).default(0),
    /** Subgraphs: the scratch database, as the subgraph's runtime role. */
    DATABASE_URL: z.string().default(''),
    POOL_MAX: z.coerce.number().int().positive().default(10),
    /** Gateway: the two baseline subgraphs. */
    CATALOG_URL: z.string().default(''),
    IDENTITY_URL: z.string().default(''),
  }),
  process.env,
);
