import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { assessment } from './subgraph.ts';

await runSubgraph(assessment, loadEnv());
