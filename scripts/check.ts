// `pnpm check`: every check CI runs, in order; all run even after a failure, and the
// summary names what failed. Test results also go to test-results/vitest.json.
import { spawnSync } from 'node:child_process';

const steps: [string, string[]][] = [
  ['codegen', ['node', 'scripts/codegen.ts']],
  ['typecheck', ['pnpm', 'typecheck']],
  ['lint', ['pnpm', 'lint']],
  ['boundaries', ['pnpm', 'boundaries']],
  ['compose --check', ['node', 'scripts/compose.ts', '--check']],
  ['codegen --check', ['node', 'scripts/codegen.ts', '--check']],
  ['tests', ['pnpm', 'vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json']],
];

const only = process.argv.slice(2);
const failed: string[] = [];
for (const [name, [cmd, ...args]] of steps) {
  if (only.length && !only.includes(name.split(' ')[0]!)) continue;
  console.log(`\n── ${name} ──`);
  const started = Date.now();
  const r = spawnSync(cmd!, args, { stdio: 'inherit', env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true' } });
  const ok = r.status === 0;
  console.log(`── ${name}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (!ok) failed.push(name);
}
console.log(failed.length ? `\ncheck failed: ${failed.join(', ')}` : '\nall checks passed');
process.exit(failed.length ? 1 : 0);
