import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { learning } from './subgraph.ts';

await runSubgraph(learning, loadEnv());
