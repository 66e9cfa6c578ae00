import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { enrollment } from './subgraph.ts';

await runSubgraph(enrollment, loadEnv());
