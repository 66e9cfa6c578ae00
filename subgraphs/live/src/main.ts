import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { live } from './subgraph.ts';

await runSubgraph(live, loadEnv());
