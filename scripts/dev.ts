// `pnpm dev`: the whole supergraph on this machine. Bootstraps roles and the database,
// migrates, seeds the demo organization, starts every subgraph and the gateway as their
// own processes, signs the demo admin in, and prints the playground URL and logins.
import { createConnection } from 'node:net';
import { bootstrap, explain, migrateAll } from './db.ts';
import { demoLoginToken, demoQuiz, seedDemo, seedDemoEnrollments, seedDemoSession, DEMO_PASSWORD, DEMO_SESSION_TITLE, DEMO_SLUG } from './seed-demo.ts';
import { SUBGRAPHS } from './subgraphs.ts';
import { children, waitReady } from './processes.ts';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`Lectern needs Node 24 (this is ${process.version}): npm install node@24 and put node_modules/.bin first on PATH`);
  process.exit(1);
}

const GATEWAY_PORT = Number(process.env.PORT ?? 4000);
const HOST = process.env.HOST ?? '127.0.0.1';
const portOffset = Number(process.env.LECTERN_PORT_OFFSET ?? 0);

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const pgUrl = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/lectern');
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
if (!(await reachable(pgUrl.hostname, Number(pgUrl.port || 5432)))) {
  console.error(`PostgreSQL is not answering at ${pgUrl.host}: start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or docker compose up -d postgres)`);
  process.exit(1);
}
if (!(await reachable(redisUrl.hostname, Number(redisUrl.port || 6379)))) {
  console.error(`Redis is not answering at ${redisUrl.host}: start it (redis-server --daemonize yes --save "" --appendonly no, or docker compose up -d redis)`);
  process.exit(1);
}

let people: Awaited<ReturnType<typeof seedDemo>>;
try {
  await bootstrap();
  await migrateAll();
  people = await seedDemo();
} catch (err) {
  console.error(`setup failed: ${explain(err)}`);
  process.exit(1);
}

const procs = children();
procs.onUnexpectedExit = (name, code, signal) => {
  console.error(`${name} exited (${signal ?? code}); stopping everything`);
  void procs.stop().then(() => process.exit(1));
};
const env = { NODE_ENV: process.env.NODE_ENV ?? 'development', HOST };
const start = (name: string, script: string, extra: Record<string, string>) => procs.start(name, script, { ...env, ...extra });
const stop = (code: number) => procs.stop().then(() => process.exit(code));
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const subgraphUrls: Record<string, string> = Object.fromEntries(SUBGRAPHS.map((s) => [s.urlEnv, `http://${HOST}:${s.port + portOffset}/graphql`]));
// certification's worker prints the subgraph's public URLs (verification page, status lists) into what it issues.
subgraphUrls.CERTIFICATION_PUBLIC_URL = subgraphUrls.CERTIFICATION_URL!.replace(/\/graphql$/, '');
// Subgraphs get their peers' URLs too: enrollment and learning read catalog's and identity's internal endpoints.
for (const s of SUBGRAPHS) start(s.name, s.main, { PORT: String(s.port + portOffset), ...subgraphUrls });

for (const s of SUBGRAPHS) await waitReady(`http://${HOST}:${s.port + portOffset}/readyz`);
// Workers: each relays its subgraph's outbox and runs the jobs and event handlers it owns.
for (const s of SUBGRAPHS) start(`${s.name}-w`, s.worker, { WORKER_PORT: String(s.workerPort + portOffset), ...subgraphUrls });
for (const s of SUBGRAPHS) await waitReady(`http://${HOST}:${s.workerPort + portOffset}/readyz`);
start('gateway', 'gateway/src/main.ts', { PORT: String(GATEWAY_PORT + portOffset), ...subgraphUrls });
const base = `http://${HOST}:${GATEWAY_PORT + portOffset}`;
await waitReady(`${base}/readyz`);

// Sign the demo admin in through the gateway, so the playground link works at once.
const token = await demoLoginToken(`${base}/graphql`, people.admin.email);
const scheduled = token ? await seedDemoEnrollments(`${base}/graphql`, token, people).catch(() => null) : null;
// A live class to subscribe to (live hears of the demo cohort from enrollment's events first).
const session = token && scheduled ? await seedDemoSession(`${base}/graphql`, token, scheduled.offeringId).catch(() => null) : null;
// The course's quiz, once assessment has heard of the learners' enrollments too.
const learnerToken = scheduled ? await demoLoginToken(`${base}/graphql`, people.learner.email).catch(() => null) : null;
const quiz = learnerToken ? await demoQuiz(`${base}/graphql`, learnerToken).catch(() => null) : null;
const query = '{\n  courses(first: 10) {\n    nodes { id title status authors { displayName } }\n  }\n}\n';
const link = `${base}/playground?query=${encodeURIComponent(query)}${token ? `&headers=${encodeURIComponent(JSON.stringify({ Authorization: `Bearer ${token}` }))}` : ''}`;

console.log(`
Lectern is running.
  GraphQL endpoint : ${base}/graphql
  Playground       : ${base}/playground
  Signed in as the demo admin (token valid 15 minutes):
    ${link}

  Demo organization "${DEMO_SLUG}", password for every login: ${DEMO_PASSWORD}
    ${people.admin.email.padEnd(32)} ORG_ADMIN
    ${people.instructor.email.padEnd(32)} INSTRUCTOR
    ${people.learner.email.padEnd(32)} LEARNER
    ${people.learner2.email.padEnd(32)} LEARNER
${scheduled ? `  Offering "Introduction to SQL" (${scheduled.offeringId}): the instructor teaches its cohort, both learners are enrolled.\n  Certificates: completing Introduction to SQL issues one (Open Badges 3.0 + PDF); verify any at ${subgraphUrls.CERTIFICATION_PUBLIC_URL}/certification/verify\n` : ''}${
  session ? `  Live session "${DEMO_SESSION_TITLE}" (${session.sessionId}): ${session.status}, starts ${session.startsAt}; subscribe with sessionEvents.\n` : ''
}${quiz ? `  Quiz "${quiz.title}" (${quiz.quizId}) of Introduction to SQL: published, 3 attempts; learners take it with startAttempt.\n` : ''}${
  people.demoVideo.outcome === 'no ffmpeg'
    ? '  No demo video: ffmpeg is not installed (apt-get install ffmpeg), so videos cannot be transcoded.\n'
    : `  Demo video (${people.demoVideo.id}): every VIDEO lesson shows it; the media worker transcodes it (videoAsset { status }), then playback works.\n`
}  Press Ctrl-C to stop.
`);
