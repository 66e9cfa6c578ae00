import { runSubgraph } from '@lectern/kernel/subgraph';
import { loadEnv } from './env.ts';
import { catalog } from './subgraph.ts';

await runSubgraph(catalog, loadEnv());
