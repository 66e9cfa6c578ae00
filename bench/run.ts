// `pnpm bench <name>`: benchmarks that start real processes against a scratch database.
//   catalog  a page of 50 courses with their authors through the gateway (federated:
//            catalog + identity) versus the catalog part straight at the subgraph.
import { writeFileSync, mkdirSync } from 'node:fs';
import { catalogBench } from './src/catalog.bench.ts';

const benches: Record<string, () => Promise<object>> = { catalog: catalogBench };
const name = process.argv[2] ?? '';
const bench = benches[name];
if (!bench) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
const result = await bench();
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nwrote ${file.pathname}`);
