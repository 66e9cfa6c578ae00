import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { notifications } from './subgraph.ts';

await runSubgraph(notifications, loadEnv());
