// The subscribers of `pnpm bench live` (bench/src/live.bench.ts), as a process of their own so
// their CPU is not the measured process's: N WebSockets speaking graphql-transport-ws by hand
// over `ws` (a few KiB per socket; no graphql-ws client object per socket).
//
//   node bench/src/live-clients.ts <config.json>
//
// config: { mode: 'gateway' | 'direct', url (ws://…/graphql), sessionId, query, concurrency,
//   tokens (gateway: one access token per socket) | direct: { tenantId, userIds } }.
// In direct mode each socket authenticates as the gateway would (service token for `live`) and
// each subscribe carries an actor context signed here, just before it is sent (they live 60 s).
//
// Driven by lines on stdin:
//   connect          opens every socket (`concurrency` handshakes in flight): upgrade,
//                    connection_init, connection_ack. Then idle: no subscription yet.
//   subscribe <n>    sends `subscribe` on sockets until n of them have sent one (the parent
//                    paces it by what the server reports as active).
//   report           prints the result line, closes every socket and exits.
// Writes JSON lines on stdout: {event:'progress'|'connected'|'errors'|'delivered'|'result', …}.
// A `next` whose ChatMessage body is `t=<epoch ms>#<k>` records Date.now() - t for message k
// (k < 0: a warm-up message, reported apart);
// when every subscribed socket holds message k, `{event:'delivered', k}` is printed.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { ActorSigner, type Actor } from '@lectern/kernel/actor';
import { DEV_ACTOR_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { devServiceKey, serviceCredential } from '@lectern/kernel/service-auth';

interface Config {
  mode: 'gateway' | 'direct';
  url: string;
  sessionId: string;
  query: string;
  concurrency: number;
  tokens?: string[];
  direct?: { tenantId: string; userIds: string[] };
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;
const N = config.mode === 'gateway' ? config.tokens!.length : config.direct!.userIds.length;
const out = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const signer = config.mode === 'direct' ? await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY) : undefined;
const credential = config.mode === 'direct' ? serviceCredential('gateway', { SERVICE_SIGNING_KEY: devServiceKey('gateway'), NODE_ENV: 'production' }) : undefined;
const actorOf = (i: number): Actor => ({
  kind: 'user',
  userId: config.direct!.userIds[i]!,
  tenantId: config.direct!.tenantId,
  roles: ['LEARNER'],
  superAdmin: false,
  scopes: [],
  apiKeyId: null,
  ip: null,
  requestId: null,
});

const sockets: (WebSocket | undefined)[] = new Array(N);
const closeCodes: Record<string, number> = {};
const errorSamples: string[] = [];
let errors = 0;
let subscribed = 0;
/** Latencies (ms) per message k; counts per k. */
const latencies = new Map<number, number[]>();

function onMessage(ws: WebSocket, data: WebSocket.RawData) {
  const at = Date.now();
  const text = data.toString();
  // Fast path: a `next` carrying a chat message body `t=<ms>#<k>`.
  const mark = text.indexOf('"t=');
  if (mark >= 0) {
    const hash = text.indexOf('#', mark);
    const end = text.indexOf('"', hash);
    const t = Number(text.slice(mark + 3, hash));
    const k = Number(text.slice(hash + 1, end));
    let list = latencies.get(k);
    if (!list) latencies.set(k, (list = []));
    list.push(at - t);
    if (list.length === subscribed - errors) out({ event: 'delivered', k, count: list.length });
    return;
  }
  const msg = JSON.parse(text) as { type: string; id?: string; payload?: unknown };
  if (msg.type === 'ping') ws.send('{"type":"pong"}');
  else if (msg.type === 'error' || (msg.type === 'next' && (msg.payload as { errors?: unknown[] })?.errors)) {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 400));
    out({ event: 'errors', errors });
  }
}

/** Opens socket i and completes connection_init; resolves true once acknowledged. */
function open(i: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(config.url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000 });
    let acked = false;
    ws.on('open', () => {
      const payload = config.mode === 'gateway' ? { authorization: `Bearer ${config.tokens![i]}` } : { service: credential!.token('live', null) };
      ws.send(JSON.stringify({ type: 'connection_init', payload }));
    });
    const first = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as { type: string };
      if (msg.type !== 'connection_ack') return;
      acked = true;
      ws.off('message', first);
      ws.on('message', (d) => onMessage(ws, d));
      sockets[i] = ws;
      resolve(true);
    };
    ws.on('message', first);
    ws.on('error', () => {});
    ws.on('close', (code) => {
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      sockets[i] = undefined;
      if (!acked) resolve(false);
    });
  });
}

async function connectAll() {
  const t0 = performance.now();
  let next = 0;
  let ready = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(config.concurrency, N) }, async () => {
      while (next < N) {
        const i = next++;
        if (await open(i)) ready++;
        else failed++;
        if ((ready + failed) % 1000 === 0) out({ event: 'progress', ready, failed });
      }
    }),
  );
  out({ event: 'connected', ready, failed, ms: Math.round(performance.now() - t0), closeCodes });
}

function subscribeUpTo(n: number) {
  const upTo = Math.min(n, N);
  for (; subscribed < upTo; subscribed++) {
    const i = subscribed;
    const ws = sockets[i];
    if (!ws) continue;
    const extensions = config.mode === 'direct' ? { actor: signer!.signNow(actorOf(i)) } : undefined;
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: config.query, variables: { s: config.sessionId }, ...(extensions ? { extensions } : {}) } }));
  }
}

function report() {
  const all: number[] = [];
  const perMessage: { k: number; received: number; p50: number; p99: number; max: number }[] = [];
  const warmup: typeof perMessage = [];
  for (const [k, list] of [...latencies.entries()].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => a - b);
    const stats = { k, received: list.length, p50: rank(list, 50), p99: rank(list, 99), max: list[list.length - 1]! };
    // Warm-up messages (k < 0) are reported apart and left out of the totals.
    if (k < 0) {
      warmup.push(stats);
      continue;
    }
    perMessage.push(stats);
    for (const x of list) all.push(x);
  }
  all.sort((a, b) => a - b);
  const open = sockets.filter((s) => s && s.readyState === WebSocket.OPEN).length;
  out({
    event: 'result',
    sockets: N,
    open,
    subscribed,
    received: all.length,
    latencyMs: all.length ? { p50: rank(all, 50), p99: rank(all, 99), max: all[all.length - 1]! } : null,
    perMessage,
    warmup,
    errors,
    errorSamples,
    closeCodes,
  });
}

const rank = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'connect') void connectAll();
  else if (cmd === 'subscribe') subscribeUpTo(Number(arg));
  else if (cmd === 'report') {
    report();
    const live = sockets.filter((s): s is WebSocket => !!s);
    let left = live.length;
    const done = () => process.exit(0);
    if (!left) done();
    for (const ws of live) {
      ws.once('close', () => --left === 0 && done());
      ws.close(1000, 'bench done');
    }
    setTimeout(() => {
      for (const ws of live) ws.terminate();
      done();
    }, 5000).unref();
  }
});
lines.on('close', () => process.exit(0));
out({ event: 'started', sockets: N });
