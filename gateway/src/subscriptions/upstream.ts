// How the gateway reaches one subgraph for subscriptions (the subgraph side is the kernel's
// subscriptions.ts):
//
//   admit(op, actor)  POST <subgraph>/subscriptions/admit with the actor context: may this
//                     caller subscribe, and to which channel? Answers the channel (who shares
//                     the stream) and, for fields that hold one while subscribed (presence), a
//                     lease the gateway keeps alive.
//   subscribe(op)     one graphql-ws socket per subgraph per gateway process carries every
//                     upstream subscription, authenticated at connection_init with the
//                     gateway's service credential; each subscribe carries a freshly signed
//                     actor context (also when graphql-ws resubscribes after a reconnect).
//   leases            renewed in one batch per subgraph every ttl/3 and released when the
//                     subscriber ends; a gateway that dies stops renewing, so its subscribers'
//                     leases (their presence) expire within the ttl.
import { GraphQLError, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ACTOR_HEADER } from '@lectern/kernel/actor';
import { postJson } from '@lectern/kernel/http-client';
import type { Logger } from '@lectern/kernel/logger';
import { SERVICE_HEADER, type ServiceCredential, type ServiceName } from '@lectern/kernel/service-auth';

export interface UpstreamOperation {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
}

export type Admission = { channel: string; lease: { id: string; ttlSeconds: number } | null; personal: boolean } | { errors: GraphQLError[] };

export interface UpstreamSink {
  next(result: ExecutionResult): void;
  /** The subgraph refused or ended the subscription with errors. */
  error(errors: GraphQLError[]): void;
  complete(): void;
}

const ADMIT_TIMEOUT_MS = 5000;
const KEEPALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5000;
const LEASE_BATCH = 20_000;

export class SubgraphLink {
  readonly name: string;
  readonly #http: URL;
  readonly #credential: ServiceCredential;
  readonly #log: Logger;
  #client: Client | undefined;
  /** Live leases → their ttl; released ids wait for the next batch. */
  #leases = new Map<string, number>();
  #released: string[] = [];
  #renewTimer: NodeJS.Timeout | undefined;
  #releaseTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Called with leases the subgraph no longer holds (they expired while it or Redis was down). */
  onLeasesLost: ((ids: string[]) => void) | undefined;

  readonly #onState: (connected: boolean) => void;

  /** `onState` hears the socket to the subgraph come up and go down (a metric). */
  constructor(name: string, httpUrl: string, credential: ServiceCredential, log: Logger, onState: (connected: boolean) => void = () => {}) {
    this.name = name;
    this.#http = new URL(httpUrl);
    this.#credential = credential;
    this.#log = log.child({ subgraph: name });
    this.#onState = onState;
  }

  /** Asks the subgraph whether the actor may subscribe; never throws (an outage is SERVICE_UNAVAILABLE). */
  async admit(op: UpstreamOperation, actorToken: string, requestId: string): Promise<Admission> {
    let res;
    try {
      res = await postJson(new URL('/subscriptions/admit', this.#http), { [ACTOR_HEADER]: actorToken, 'x-request-id': requestId }, JSON.stringify(op), ADMIT_TIMEOUT_MS);
    } catch (err) {
      return { errors: [unavailable(this.name, (err as Error).message)] };
    }
    if (res.status === 401) return { errors: [new GraphQLError('Authentication required', { extensions: { code: 'UNAUTHENTICATED' } })] };
    if (res.status !== 200) return { errors: [unavailable(this.name, `answered ${res.status}`)] };
    const body = JSON.parse(res.body) as { channel?: string; lease?: { id: string; ttlSeconds: number } | null; personal?: boolean; errors?: { message: string; extensions?: Record<string, unknown> }[] };
    if (body.errors?.length) return { errors: body.errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions ?? {} })) };
    if (typeof body.channel !== 'string') return { errors: [unavailable(this.name, 'gave no channel')] };
    return { channel: body.channel, lease: body.lease ?? null, personal: body.personal === true };
  }

  /** Opens one upstream subscription; `actorToken` is called at every (re)subscribe. Returns its disposer. */
  subscribe(op: UpstreamOperation, actorToken: () => string, sink: UpstreamSink): () => void {
    const extensions = {
      shared: true,
      // Read when graphql-ws serialises the subscribe message, so a resubscription after a
      // reconnect carries a fresh actor context rather than the one signed at the start.
      get actor() {
        return actorToken();
      },
    };
    return this.#connection().subscribe(
      { query: op.query, variables: op.variables, ...(op.operationName ? { operationName: op.operationName } : {}), extensions },
      {
        next: (r) => sink.next(r as ExecutionResult),
        error: (err) => sink.error(Array.isArray(err) ? err.map((e: { message: string; extensions?: Record<string, unknown> }) => new GraphQLError(e.message, { extensions: e.extensions ?? {} })) : [unavailable(this.name, 'closed the subscription')]),
        complete: () => sink.complete(),
      },
    );
  }

  /** Keeps `id` alive until released. */
  holdLease(id: string, ttlSeconds: number) {
    this.#leases.set(id, ttlSeconds);
    this.#scheduleRenewal();
  }

  /** Ends `id` soon (releases are batched for a tenth of a second). */
  releaseLease(id: string) {
    if (!this.#leases.delete(id)) return;
    this.#released.push(id);
    this.#releaseTimer ??= setTimeout(() => {
      this.#releaseTimer = undefined;
      void this.#send([], this.#released.splice(0));
    }, 100).unref();
  }

  get leaseCount() {
    return this.#leases.size;
  }

  /** Renews every held lease (and sends pending releases) now. */
  async flushLeases(): Promise<void> {
    await this.#send([...this.#leases.keys()], this.#released.splice(0));
  }

  async #send(renew: string[], release: string[]) {
    for (let i = 0; i < Math.max(renew.length, release.length); i += LEASE_BATCH) {
      const releasing = release.slice(i, i + LEASE_BATCH);
      const body = JSON.stringify({ renew: renew.slice(i, i + LEASE_BATCH), release: releasing });
      try {
        const res = await postJson(new URL('/subscriptions/leases', this.#http), { [SERVICE_HEADER]: this.#credential.token(this.name as ServiceName, null) }, body, ADMIT_TIMEOUT_MS);
        if (res.status >= 300) throw new Error(`answered ${res.status}`);
        const lost = ((JSON.parse(res.body || '{}') as { unknown?: string[] }).unknown ?? []).filter((id) => this.#leases.has(id));
        if (lost.length) {
          for (const id of lost) this.#leases.delete(id);
          this.onLeasesLost?.(lost);
        }
      } catch (err) {
        // Releases go again with the next renewal; renewals are resent anyway.
        if (!this.#closed) this.#released.push(...releasing);
        this.#log.warn({ err: (err as Error).message }, 'could not renew or release subscription leases; retrying');
      }
    }
  }

  #scheduleRenewal() {
    if (this.#renewTimer || this.#closed) return;
    const ttl = Math.min(...this.#leases.values(), 30);
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined;
      void this.flushLeases().finally(() => {
        if (this.#leases.size) this.#scheduleRenewal();
      });
    }, Math.max(200, (ttl * 1000) / 3));
    this.#renewTimer.unref();
  }

  #connection(): Client {
    if (this.#client) return this.#client;
    const url = new URL(this.#http);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // A subgraph that stops answering (a frozen process, a dead host behind a live TCP
    // connection) gets 5 s to answer our ping; then the socket is dropped and graphql-ws
    // reconnects (a Service sends it to a healthy replica) and resubscribes everything.
    let socket: WebSocket | undefined;
    let pongDue: NodeJS.Timeout | undefined;
    this.#client = createClient({
      url: url.href,
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 1000,
      keepAlive: KEEPALIVE_MS,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => !this.#closed,
      // A restarted subgraph is back within seconds: retry soon, with jitter, at most every 5 s.
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** retries) * (0.5 + Math.random() / 2))),
      connectionParams: () => ({ service: this.#credential.token(this.name as ServiceName, null) }),
      on: {
        connected: (s) => {
          socket = s as WebSocket;
          this.#onState(true);
          this.#log.info('subscription link connected');
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(pongDue);
          pongDue = setTimeout(() => {
            this.#log.warn('subgraph did not answer a ping within 5 s; reconnecting');
            if (socket?.readyState === WebSocket.OPEN) socket.terminate();
          }, PONG_TIMEOUT_MS);
          pongDue.unref();
        },
        pong: (received) => {
          if (received) clearTimeout(pongDue);
        },
        closed: (e) => {
          clearTimeout(pongDue);
          this.#onState(false);
          if (!this.#closed) this.#log.warn({ code: (e as { code?: number }).code }, 'subscription link closed; reconnecting');
        },
      },
    });
    return this.#client;
  }

  async close() {
    this.#closed = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#releaseTimer);
    const release = [...this.#released.splice(0), ...this.#leases.keys()];
    this.#leases.clear();
    if (release.length) await this.#send([], release);
    await this.#client?.dispose();
  }
}

function unavailable(subgraph: string, why: string) {
  return new GraphQLError(`A service this subscription needs is unavailable (${subgraph} ${why}); retry in a few seconds`, {
    extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 },
  });
}
