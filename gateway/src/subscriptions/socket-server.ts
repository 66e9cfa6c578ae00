// The gateway's graphql-ws endpoint: WebSocket upgrades on /graphql (HTTP stays as it is),
// speaking the graphql-transport-ws protocol through graphql-ws's own server (makeServer) on a
// `ws` WebSocketServer. What this file adds around the protocol:
//
//   connection_init   the caller's credential in connectionParams (`authorization: "Bearer …"`,
//                     an access token or API key) is verified like an HTTP request; none or a bad
//                     one closes 4403. No connection_init within WS_INIT_TIMEOUT_MS: 4408 (graphql-ws).
//   token expiry      an access token's socket closes 4403 when it expires, unless the client sent
//                     a fresher token of the same user first: a graphql-ws `ping` whose payload is
//                     `{ authorization }`, or `extensions.authorization` on a subscribe. Every
//                     subscribe re-checks the credential; a signed-out session closes the socket
//                     within four keep-alive rounds.
//   limits            sockets per user and per process (over: close 4429); subscriptions per
//                     socket, per user and per process (over: that subscribe gets RATE_LIMITED);
//                     documents are parsed and validated with HTTP's token, depth, alias and
//                     directive limits; a message larger than BODY_LIMIT_BYTES closes the socket (1009).
//   slow consumers    once 64 KiB wait unsent on a socket, its sends complete only when written
//                     out; until then its results wait in its bounded queue (queue.ts), which
//                     drops the oldest (counted) when full.
//   keep-alive        every socket is pinged once per WS_PING_INTERVAL_MS (one timer, the sockets
//                     spread over its ticks); one that did not answer the previous ping is
//                     terminated (counted).
//   queries           queries and mutations sent over the socket run through Apollo as over HTTP.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type DocumentNode, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Context } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApolloServer } from '@apollo/server';
import { principalOf, type Actor, type ActorSigner } from '@lectern/kernel/actor';
import { HttpError } from '@lectern/kernel/http';
import type { Logger } from '@lectern/kernel/logger';
import type { Authenticator } from '../auth.ts';
import type { Cors } from '../cors.ts';
import type { SubscriptionEngine } from './engine.ts';
import type { SubscriptionMetrics } from './metrics.ts';

export interface SocketLimits {
  initTimeoutMs: number;
  pingIntervalMs: number;
  maxSockets: number;
  maxSocketsPerUser: number;
  maxSubscriptionsPerSocket: number;
  maxSubscriptionsPerUser: number;
  maxSubscriptions: number;
  maxPayloadBytes: number;
  maxTokens: number;
}

export interface SocketServerOptions {
  path: string;
  log: Logger;
  auth: Authenticator;
  signer: ActorSigner;
  engine: SubscriptionEngine;
  apollo: ApolloServer<never>;
  cors: Cors;
  trustProxy: boolean;
  validationRules: ValidationRule[];
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Refuses a document this actor may not send (an organization that requires trusted documents); null lets it through. */
  admitDocument?(actor: Actor, query: string): Promise<GraphQLError | null>;
  limits: SocketLimits;
  metrics: SubscriptionMetrics;
}

/** One socket's state (graphql-ws's `ctx.extra`). */
interface Connection {
  socket: WebSocket;
  ip: string | null;
  alive: boolean;
  authorization: string | undefined;
  actor: Actor | undefined;
  expiresAt: number | null;
  expiry: NodeJS.Timeout | undefined;
  subscriptions: number;
  user: string | undefined;
  /** The access token's session (signed-out check); null for API keys. */
  sessionId: string | null;
  /** Which keep-alive slice the socket is in, and how many rounds it has had. */
  slot: number;
  rounds: number;
}

type Ctx = Context<Record<string, unknown> | undefined, Connection>;

/** What onSubscribe hands to execute / subscribe: the socket, and an admitted subscription's results. */
interface Operation {
  connection: Connection;
  results?: AsyncIterableIterator<ExecutionResult>;
}

const TOO_MANY = 4429;
/** Bytes a socket may have waiting to be written before its sends wait for them (backpressure). */
const SEND_BUFFER_BYTES = 64 * 1024;
/** A socket's session is checked for sign-out every this many keep-alive rounds (48 s by default). */
const SESSION_CHECK_ROUNDS = 4;
/** The keep-alive round is spread over this many ticks per WS_PING_INTERVAL_MS. */
const SLICES = 8;

export function attachSocketServer(server: http.Server, opts: SocketServerOptions) {
  const { limits, log, metrics } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false, handleProtocols: (p) => handleProtocols(p) });
  const socketsPerUser = new Map<string, number>();
  const subscriptionsPerUser = new Map<string, number>();
  let subscriptions = 0;
  const count = (m: Map<string, number>, k: string, d: number) => {
    const n = (m.get(k) ?? 0) + d;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  };

  const close = (c: Connection, code: number, reason: string) => {
    if (c.socket.readyState === c.socket.OPEN || c.socket.readyState === c.socket.CONNECTING) c.socket.close(code, reason);
  };

  /** Verifies `authorization` for `c`; the same user (or key) only, once signed in. */
  const authenticate = async (c: Connection, authorization: unknown): Promise<boolean> => {
    if (typeof authorization !== 'string' || !authorization) return false;
    try {
      const { actor, expiresAt, sessionId } = await opts.auth.authenticate(authorization, c.ip, 'ws');
      if (actor.kind === 'anonymous') return false;
      if (c.actor && (principalOf(c.actor) !== principalOf(actor) || c.actor.tenantId !== actor.tenantId)) return false;
      c.actor = actor;
      c.authorization = authorization;
      c.expiresAt = expiresAt;
      c.sessionId = sessionId;
      if (c.expiry) clearTimeout(c.expiry);
      c.expiry = undefined;
      if (expiresAt !== null) {
        c.expiry = setTimeout(() => close(c, CloseCode.Forbidden, 'Forbidden: the access token expired; reconnect with a new one'), Math.max(0, expiresAt - Date.now()));
        c.expiry.unref();
      }
      return true;
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) return false;
      throw err;
    }
  };

  const gql = makeServer<Record<string, unknown> | undefined, Connection>({
    connectionInitWaitTimeout: limits.initTimeoutMs,
    async onConnect(ctx: Ctx) {
      const c = ctx.extra;
      const params = ctx.connectionParams ?? {};
      const authorization = params.authorization ?? params.Authorization ?? (typeof params.token === 'string' ? `Bearer ${params.token}` : undefined);
      let ok: boolean;
      try {
        ok = await authenticate(c, authorization);
      } catch {
        close(c, 1013, 'Authentication is unavailable right now; retry in a few seconds');
        return false;
      }
      if (!ok) return false; // 4403 Forbidden
      c.user = `${c.actor!.tenantId ?? ''}|${principalOf(c.actor!)}`;
      if ((socketsPerUser.get(c.user) ?? 0) >= limits.maxSocketsPerUser) {
        c.user = undefined;
        close(c, TOO_MANY, 'Too many connections for this user');
        return false;
      }
      count(socketsPerUser, c.user, 1);
      return true;
    },
    async onPing(ctx: Ctx, payload) {
      const c = ctx.extra;
      if (!c.actor || !payload || !('authorization' in payload)) return;
      const ok = await authenticate(c, payload.authorization).catch(() => true);
      if (!ok) close(c, CloseCode.Forbidden, 'Forbidden: invalid token');
    },
    async onSubscribe(ctx: Ctx, _id, payload) {
      const c = ctx.extra;
      const refreshed = payload.extensions?.authorization;
      const still = await authenticate(c, refreshed ?? c.authorization).catch(() => true);
      if (!still) {
        close(c, CloseCode.Forbidden, 'Forbidden: invalid or expired token');
        return [new GraphQLError('Authentication required', { extensions: { code: 'UNAUTHENTICATED' } })];
      }
      const inadmissible = await opts.admitDocument?.(c.actor!, payload.query);
      if (inadmissible) return [inadmissible];
      const checked = checkDocument(payload.query);
      if (Array.isArray(checked)) return checked;
      const document = checked;
      const operation = getOperationAST(document, payload.operationName ?? undefined);
      if (!operation) return [new GraphQLError('Unable to identify the operation', { extensions: { code: 'BAD_USER_INPUT' } })];
      const variables = payload.variables ?? {};
      const args = { schema: opts.engine.schema, document, operationName: payload.operationName ?? null, variableValues: variables };
      if (operation.operation !== 'subscription') return { ...args, contextValue: { connection: c } satisfies Operation };
      // Admitted here, so a refusal (NOT_FOUND, a subgraph down) is the protocol's `error` message.
      const refused = tooMany(c);
      if (refused) return [new GraphQLError(refused, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 5 } })];
      const user = c.user ?? '';
      c.subscriptions++;
      subscriptions++;
      count(subscriptionsPerUser, user, 1);
      const subscribed = await opts.engine.subscribe({ document, operationName: payload.operationName, variables, actor: c.actor!, requestId: 'ws', traceparent: '' }, () => {
        c.subscriptions--;
        subscriptions--;
        count(subscriptionsPerUser, user, -1);
      });
      if (!('results' in subscribed)) return (subscribed.errors ?? []) as GraphQLError[];
      return { ...args, contextValue: { connection: c, results: subscribed.results } satisfies Operation };
    },
    subscribe(args) {
      return (args.contextValue as Operation).results!;
    },
    async execute(args) {
      const c = (args.contextValue as Operation).connection;
      const actor = c.actor!;
      const response = await (opts.apollo as unknown as ApolloServer<object>).executeOperation(
        { query: args.document, variables: (args.variableValues ?? {}) as Record<string, unknown>, ...(args.operationName ? { operationName: args.operationName } : {}) },
        { contextValue: { actor, actorToken: opts.signer.signNow(actor), requestId: 'ws', traceparent: '' } },
      );
      if (response.body.kind !== 'single') return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
      // Apollo formatted the errors already; graphql-ws serialises GraphQLErrors.
      const { errors, ...rest } = response.body.singleResult;
      return errors ? { ...rest, errors: errors.map((e) => new GraphQLError(e.message, { path: e.path, extensions: e.extensions })) } : (rest as ExecutionResult);
    },
    onError(_ctx, _id, _payload, errors) {
      return errors.map((e) => opts.formatError(toFormatted(e), e));
    },
    onClose(ctx: Ctx) {
      const c = ctx.extra;
      if (c.expiry) clearTimeout(c.expiry);
      if (c.user) count(socketsPerUser, c.user, -1);
    },
  });

  // Parsed and validated once per document text and schema: a class of thousands subscribes with
  // the same few documents, and each subscriber then holds the one shared (immutable) AST.
  const documents = new Map<string, { schema: GraphQLSchema; result: DocumentNode | GraphQLError[] }>();
  const checkDocument = (query: string): DocumentNode | GraphQLError[] => {
    const schema = opts.engine.schema;
    const hit = documents.get(query);
    if (hit?.schema === schema) return hit.result;
    let result: DocumentNode | GraphQLError[];
    try {
      const document = parse(query, { maxTokens: limits.maxTokens });
      const errors = validate(schema, document, [...specifiedRules, ...opts.validationRules]);
      result = errors.length ? errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) : document;
    } catch (err) {
      result = [new GraphQLError((err as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
    }
    if (documents.size >= 1000) documents.clear();
    documents.set(query, { schema, result });
    return result;
  };

  const tooMany = (c: Connection): string | null => {
    if (c.subscriptions >= limits.maxSubscriptionsPerSocket) return `Too many subscriptions on this connection (at most ${limits.maxSubscriptionsPerSocket})`;
    if ((subscriptionsPerUser.get(c.user ?? '') ?? 0) >= limits.maxSubscriptionsPerUser) return `Too many subscriptions for this user (at most ${limits.maxSubscriptionsPerUser})`;
    if (subscriptions >= limits.maxSubscriptions) return 'This server has too many subscriptions right now; retry shortly';
    return null;
  };

  const connectionOf = new WeakMap<WebSocket, Connection>();
  let sockets = 0;
  const onSocket = (socket: WebSocket, req: http.IncomingMessage) => {
    const forwarded = opts.trustProxy && typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'].split(',')[0]?.trim() : undefined;
    const c: Connection = { socket, ip: forwarded || req.socket.remoteAddress || null, alive: true, authorization: undefined, actor: undefined, expiresAt: null, expiry: undefined, subscriptions: 0, user: undefined, sessionId: null, slot: sockets++ % SLICES, rounds: 0 };
    metrics.socketOpened();
    if (wss.clients.size > limits.maxSockets) {
      socket.close(TOO_MANY, 'Too many connections; retry shortly');
      socket.once('close', () => metrics.socketClosed());
      return;
    }
    connectionOf.set(socket, c);
    socket.on('pong', () => (c.alive = true));
    socket.on('error', (err) => {
      log.debug({ err: err.message }, 'websocket error');
      socket.terminate();
    });
    const closed = gql.opened(
      {
        protocol: socket.protocol,
        // While the socket keeps up, a send is done at once; once SEND_BUFFER_BYTES wait unsent,
        // it resolves only when written out, so a slow reader's results wait (bounded) in its queue.
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return;
          if (socket.bufferedAmount < SEND_BUFFER_BYTES) return socket.send(data);
          return new Promise<void>((resolve) => socket.send(data, () => resolve()));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (data) => {
            cb(String(data)).catch((err: unknown) => {
              log.warn({ err: (err as Error).message }, 'graphql-ws message failed');
              close(c, CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      c,
    );
    socket.once('close', (code, reason) => {
      metrics.socketClosed();
      void closed(code, String(reason));
    });
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = req.headers.origin;
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (url.pathname !== opts.path) return refuse(404, 'Not Found');
    // Browsers send Origin: the page's own origin (the playground) or a configured one.
    if (typeof origin === 'string' && !sameOrigin(origin, req.headers.host) && !opts.cors.allows(origin)) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, req));
  };
  server.on('upgrade', onUpgrade);

  // Keep-alive: one timer, each tick taking one of SLICES slices of the sockets, so pings and
  // session checks of thousands of sockets are spread over the interval instead of stalling
  // fan-out once per interval. A socket is pinged once per interval and terminated at its next
  // turn if it did not answer; every SESSION_CHECK_ROUNDS turns, its access token's session is
  // checked (only whether it was signed out: its signature was checked when it came).
  let tick = 0;
  const keepAlive = setInterval(() => {
    const slice = tick++ % SLICES;
    for (const ws of wss.clients) {
      const c = connectionOf.get(ws);
      if (!c || c.slot !== slice) continue;
      if (!c.alive) {
        metrics.terminated();
        ws.terminate();
        continue;
      }
      c.alive = false;
      ws.ping();
      if (c.sessionId && ++c.rounds % SESSION_CHECK_ROUNDS === 0) {
        opts.auth.signedOut(c.sessionId).then(
          (out) => out && close(c, CloseCode.Forbidden, 'Forbidden: the session was signed out'),
          () => {}, // identity unreachable: the last answer stands (auth.ts)
        );
      }
    }
  }, Math.max(1, Math.round(limits.pingIntervalMs / SLICES)));
  keepAlive.unref();

  return {
    wss,
    /** Open sockets and subscriptions now. */
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      clearInterval(keepAlive);
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    return false;
  }
}

function toFormatted(e: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  return 'toJSON' in e && typeof e.toJSON === 'function' ? e.toJSON() : (e as GraphQLFormattedError);
}
