// `pnpm bench <name>`: benchmarks that start real processes against a scratch database.
//   catalog  a page of 50 courses with their authors, Lectern versus a minimal baseline
//            (bench/src/baseline/): catalog subgraph direct, gateway (catalog + identity)
//            versus a stock @apollo/gateway, identity _entities direct; req/s, p50/p99, CPU.
//   events   events/s through outbox → relay → BullMQ → consumer, and end-to-end latency.
//   enroll   500 learners racing for 50 seats through the gateway (latency, correctness), and
//            another organization's enrollment latency while a 10,000-row roster import runs.
//   progress heartbeats/s accepted through the gateway and the lag until they are in PostgreSQL.
//   live     chat fan-out over GraphQL subscriptions: 10,000 WebSocket subscribers of one session
//            (a separate client process), through one gateway process and straight at the live
//            subgraph; delivery latency p50/p99 at the client, server memory per connection.
//   quiz     1,000 learners start, save 10 answers and submit at once through the gateway
//            (p50/p99 per operation, grades checked in PostgreSQL), and the lag from deadline
//            to graded of 1,000 attempts nobody submits (the assessment worker's expire-attempt).
//   media    upload throughput (MiB/s through the tus route) and transcode throughput (seconds of
//            a 60 s 1080p source per wall-clock second, to a 5-rung HLS ladder) in the media worker.
//   certificates  certificates issued per second from 1,000 completions (learning's outbox →
//            relay → certification's consumer → issue-certificate job: credential signed, PDF
//            stored), latency from commit to ISSUED, and a sample verified.
//   fairness organization A's latency alone and while organization B floods the gateway past its
//            rate limit (open loop): A's p50/p95/p99 and their ratio; B's 200s and 429s, each
//            checked for Retry-After, RateLimit-* and RATE_LIMITED.
//   resilience  catalog SIGSTOPped under load: identity-only requests' latency against normal,
//            mixed requests' partial answers and time to fail, the circuit opening and closing.
import { writeFileSync, mkdirSync } from 'node:fs';
import { catalogBench } from './src/catalog.bench.ts';
import { eventsBench } from './src/events.bench.ts';
import { enrollBench } from './src/enroll.bench.ts';
import { progressBench } from './src/progress.bench.ts';
import { liveBench } from './src/live.bench.ts';
import { quizBench } from './src/quiz.bench.ts';
import { mediaBench } from './src/media.bench.ts';
import { certificatesBench } from './src/certificates.bench.ts';
import { fairnessBench } from './src/fairness.bench.ts';
import { resilienceBench } from './src/resilience.bench.ts';

const benches: Record<string, () => Promise<object>> = { catalog: catalogBench, events: eventsBench, enroll: enrollBench, progress: progressBench, live: liveBench, quiz: quizBench, media: mediaBench, certificates: certificatesBench, fairness: fairnessBench, resilience: resilienceBench };
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
// A benchmark is a one-shot command: do not wait on a client library's idle timers.
process.exit(0);
