import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { media } from './subgraph.ts';

await runSubgraph(media, loadEnv());
