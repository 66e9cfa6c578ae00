import { runSubgraph } from '@lectern/kernel/subgraph';
import { identity } from './subgraph.ts';
import { loadEnv } from './env.ts';

await runSubgraph(identity, loadEnv());
