// The catalog bench's printed table (medians over rounds) and its targets, each marked met or
// not met: Lectern ≥ 0.8× the baseline's requests/s (direct and federated), and p99 < 3× p50.
import type { LoadTarget, Summary } from './load.ts';

/** One Lectern target and the baseline it is measured against. */
export interface Comparison {
  name: string;
  lectern: LoadTarget;
  baseline: LoadTarget;
}

export interface Result {
  comparison: Comparison;
  lectern: Summary;
  baseline: Summary;
}

export interface Verdict {
  target: string;
  value: number;
  goal: string;
  met: boolean;
}

const ROLES = ['gateway', 'catalog', 'identity', 'postgres'];
const MIN_RPS_RATIO = 0.8;
const MAX_TAIL_RATIO = 3;

const num = (x: number | undefined, digits: number, width: number) => (x === undefined ? '-' : x.toFixed(digits)).padStart(width);
const serverCpu = (s: Summary) => ROLES.reduce((ms, role) => ms + (s.cpuPerRequest[role] ?? 0), 0);

function row(label: string, side: string, s: Summary): string {
  const cpu = ROLES.map((role) => num(s.cpuPerRequest[role], 2, 8)).join(' ');
  return `${label.padEnd(19)} ${side.padEnd(14)} ${num(s.rps, 0, 6)} ${num(s.p50, 1, 7)} ${num(s.p99, 1, 7)} ${String(s.errors).padStart(6)} │ ${cpu} ${num(serverCpu(s), 2, 8)} │ ${num(s.cpuPerRequest.client, 2, 6)}`;
}

/** Prints the table and the targets; returns the verdicts. */
export function report(results: Result[]): Verdict[] {
  console.log('\nmedians over rounds                   req/s  p50 ms  p99 ms errors │ CPU ms per page:                            │ load');
  console.log(`${' '.repeat(60)}│ ${ROLES.map((r) => r.padStart(8)).join(' ')}    total │ client`);
  const sides: Record<string, [string, string]> = { 'federated page': ['Lectern gw', 'stock gateway'], 'cached page': ['cache on', 'cache off'] };
  for (const r of results) {
    const [mine, theirs] = sides[r.comparison.name] ?? ['Lectern', 'baseline'];
    console.log(row(r.comparison.name, mine, r.lectern));
    console.log(row('', theirs, r.baseline));
  }
  const verdicts: Verdict[] = [];
  for (const r of results) {
    verdicts.push({ target: `${r.comparison.name}: Lectern / baseline req/s`, value: r.lectern.rps / r.baseline.rps, goal: `≥ ${MIN_RPS_RATIO}`, met: r.lectern.rps >= MIN_RPS_RATIO * r.baseline.rps });
  }
  for (const r of results) {
    verdicts.push({ target: `${r.comparison.name}: Lectern p99 / p50`, value: r.lectern.p99 / r.lectern.p50, goal: `< ${MAX_TAIL_RATIO}`, met: r.lectern.p99 < MAX_TAIL_RATIO * r.lectern.p50 });
  }
  console.log('\ntargets                                         value   goal');
  for (const v of verdicts) console.log(`${v.target.padEnd(46)} ${v.value.toFixed(2).padStart(6)}   ${v.goal.padEnd(6)} ${v.met ? 'met' : 'NOT MET'}`);
  console.log('\nfor reference (not targets)                     Lectern / baseline');
  for (const r of results) {
    console.log(`${`${r.comparison.name}: server CPU per page`.padEnd(46)} ${(serverCpu(r.lectern) / serverCpu(r.baseline)).toFixed(2).padStart(6)}`);
    console.log(`${`${r.comparison.name}: p50`.padEnd(46)} ${(r.lectern.p50 / r.baseline.p50).toFixed(2).padStart(6)}`);
  }
  return verdicts;
}
