import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { certification } from './subgraph.ts';

await runSubgraph(certification, loadEnv());
