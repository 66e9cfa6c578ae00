import { loadEnv } from './env.ts';
import { runGateway } from './server.ts';

await runGateway(loadEnv());
