// Subscriptions through the federated graph: what @apollo/gateway leaves out ("Execution of
// subscriptions not supported by gateway").
//
// The query planner already plans a subscription as {primary, rest}: `primary` is the fetch of
// the subscription field from the subgraph that owns it, `rest` the fetches that complete each
// event from other subgraphs (e.g. `author { displayName }` from identity). The engine
//   1. validates and plans the client's document against the supergraph;
//   2. asks the owning subgraph to ADMIT the subscriber (upstream.ts): authorisation, and the
//      channel the subscriber would receive;
//   3. attaches the subscriber to the UPSTREAM subscription for (subgraph, primary operation,
//      its variables, tenant, channel), opening it over graphql-ws if it is the first: identical
//      subscriptions cost one upstream subscription per gateway process;
//   4. for each upstream event, runs `rest` ONCE per GROUP of subscribers that share the
//      document, variables and kind of access (roles, scopes), through Apollo's own
//      executeQueryPlan: the plan is [primary, rest] with the primary fetch answered by the
//      event itself, so every entity fetch of `rest` is batched as for a query. A group's
//      fetches run with its members' organization and roles but no user (`groupActor`): a
//      shared result can carry no one subscriber's private data to another. A PERSONAL channel
//      (the subgraph says so at admission: one person's inbox) is completed as that person.
//   5. pushes each result, its errors made safe once (the gateway's formatError), into the
//      subscribers' bounded queues (queue.ts).
//
// A subscriber's lease (presence) is renewed by upstream.ts. A lease the subgraph no longer
// holds (it expired in an outage, or the subgraph ended it because its holder may no longer
// see the channel) makes the engine admit that subscriber again: it holds a new lease, or ends
// with the subgraph's refusal (e.g. the NOT_FOUND of a missing session).
//
// A subscription field's value must be the same for everyone the subgraph admits to its
// channel (the primary runs once, as the subscriber who opened it); per-viewer data belongs in
// queries. A new supergraph (update()) re-plans every subscriber: those whose primary fetch is
// unchanged stay on their upstream, the others are admitted again and moved, and those the new
// schema no longer allows get a last result saying so (GRAPHQL_VALIDATION_FAILED), then complete.
import { randomUUID } from 'node:crypto';
import { GraphQLError, getOperationAST, print, specifiedRules, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { principalOf, type Actor } from '@lectern/kernel/actor';
import type { Logger } from '@lectern/kernel/logger';
import { SubscriberQueue } from './queue.ts';
import type { SubgraphLink, UpstreamOperation } from './upstream.ts';

/** What a data source receives as context (the gateway's GatewayContext). */
export interface FetchContext {
  actor: Actor;
  actorToken: string;
  requestId: string;
  traceparent: string;
}

export interface EngineMetrics {
  subscriptionsOpened(): void;
  subscriptionsClosed(): void;
  upstreamOpened(): void;
  upstreamClosed(): void;
  event(): void;
  delivered(n: number): void;
  dropped(): void;
}

export interface EngineOptions {
  log: Logger;
  /** The data source of a subgraph (the same the HTTP path uses). */
  source(name: string): GraphQLDataSource;
  link(name: string): SubgraphLink;
  /** Signs an actor context now (synchronously: also called when graphql-ws resubscribes). */
  sign(actor: Actor): string;
  metrics: EngineMetrics;
  /** Results a subscriber may have waiting before the oldest is dropped. */
  queueCapacity: number;
  /** What a client may see of an error (the gateway's formatError); applied once per result. */
  formatError(error: GraphQLError): GraphQLError;
}

export interface SubscribeRequest {
  document: DocumentNode;
  operationName?: string | null | undefined;
  variables: Record<string, unknown>;
  actor: Actor;
  requestId: string;
  traceparent: string;
}

/** A subscriber's handle: its results, and how to end it from outside (schema change, socket closed). */
export interface Subscription {
  results: AsyncIterableIterator<ExecutionResult>;
}

interface Planned {
  primary: FetchNode;
  rest: PlanNode | undefined;
  primaryVariables: Record<string, unknown>;
  operationContext: ReturnType<typeof buildOperationContext>;
}

interface Subscriber {
  id: string;
  request: SubscribeRequest;
  queue: SubscriberQueue;
  group: Group;
  lease: { id: string; link: SubgraphLink } | null;
}

interface Group {
  key: string;
  upstream: Upstream;
  planned: Planned;
  variables: Record<string, unknown>;
  actor: Actor;
  members: Set<Subscriber>;
}

interface Upstream {
  key: string;
  link: SubgraphLink;
  groups: Map<string, Group>;
  dispose: () => void;
  /** Events are completed and delivered in order. */
  chain: Promise<void>;
  closed: boolean;
}

/** The prefix of the event's own "service" in a per-event plan: it answers the primary fetch. */
const EVENT_SOURCE = '__subscription_event__';

export class SubscriptionEngine {
  #opts: EngineOptions;
  #supergraph!: Supergraph;
  #apiSchema!: Schema;
  #schema!: GraphQLSchema;
  #supergraphSchema!: GraphQLSchema;
  #planner!: QueryPlanner;
  #plans = new Map<string, QueryPlan>();
  #upstreams = new Map<string, Upstream>();
  #subscribers = new Set<Subscriber>();
  /** Lease id → the subscriber holding it. */
  #leaseHolders = new Map<string, Subscriber>();

  constructor(supergraphSdl: string, opts: EngineOptions) {
    this.#opts = opts;
    this.#load(supergraphSdl);
  }

  /** The API schema clients' documents are validated against. */
  get schema(): GraphQLSchema {
    return this.#schema;
  }

  get upstreamCount() {
    return this.#upstreams.size;
  }

  get subscriberCount() {
    return this.#subscribers.size;
  }

  #load(sdl: string) {
    this.#supergraph = Supergraph.build(sdl);
    this.#apiSchema = this.#supergraph.apiSchema();
    this.#schema = this.#apiSchema.toGraphQLJSSchema();
    this.#supergraphSchema = this.#supergraph.schema.toGraphQLJSSchema();
    this.#planner = new QueryPlanner(this.#supergraph);
    this.#plans.clear();
  }

  /**
   * Subscribes (the document is already parsed and validated against `schema`). Returns the
   * subscriber's results, or an error result (not admitted, subgraph unavailable). `onEnd`
   * runs exactly once, when the subscriber ends for whatever reason (at once for an error).
   */
  async subscribe(request: SubscribeRequest, onEnd: () => void): Promise<Subscription | ExecutionResult> {
    const planned = this.#plan(request);
    if (Array.isArray(planned)) {
      onEnd();
      return { errors: planned };
    }
    const subscriber: Partial<Subscriber> & { id: string; request: SubscribeRequest } = { id: randomUUID(), request };
    const queue = new SubscriberQueue(this.#opts.queueCapacity, () => this.#opts.metrics.dropped(), () => {
      this.#detach(subscriber as Subscriber);
      onEnd();
    });
    subscriber.queue = queue;
    const attached = await this.#attach(subscriber as Subscriber, planned);
    if (attached) {
      queue.end();
      return attached;
    }
    this.#subscribers.add(subscriber as Subscriber);
    this.#opts.metrics.subscriptionsOpened();
    return { results: queue };
  }

  /** Loads a new supergraph and moves every subscriber to its plan (see the header). */
  async update(supergraphSdl: string): Promise<void> {
    this.#load(supergraphSdl);
    for (const sub of [...this.#subscribers]) {
      if (sub.queue.ended) continue;
      const errors = validate(this.#schema, sub.request.document, specifiedRules);
      const planned = errors.length ? [...errors] : this.#plan(sub.request);
      if (Array.isArray(planned)) {
        sub.queue.push({
          errors: [
            new GraphQLError('The API changed and no longer offers this subscription as written; subscribe again with an updated document', {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
          ],
        });
        sub.queue.end();
        continue;
      }
      const old = sub.group;
      if (samePrimary(old.planned, planned)) {
        old.planned = planned;
        continue;
      }
      // Another primary fetch: admitted again (possibly by another subgraph), then moved.
      const oldLease = sub.lease;
      this.#leave(sub);
      sub.lease = null;
      const failed = await this.#attach(sub, planned);
      if (oldLease) {
        this.#leaseHolders.delete(oldLease.id);
        oldLease.link.releaseLease(oldLease.id);
      }
      if (failed) {
        sub.queue.push(this.#safe(failed));
        sub.queue.end();
      }
    }
  }

  /** Ends every subscriber (gateway shutdown). */
  close() {
    for (const sub of [...this.#subscribers]) sub.queue.end();
    for (const up of [...this.#upstreams.values()]) this.#closeUpstream(up);
  }

  /** The subscription's plan, or why it has none. */
  #plan(request: SubscribeRequest): Planned | GraphQLError[] {
    const operationName = request.operationName ?? undefined;
    const planKey = `${operationName ?? ''}\n${printed(request.document)}`;
    let plan = this.#plans.get(planKey);
    if (!plan) {
      try {
        const operation = operationFromDocument(this.#apiSchema, request.document, { operationName });
        plan = this.#planner.buildQueryPlan(operation);
      } catch (err) {
        return [err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })];
      }
      if (this.#plans.size >= 1000) this.#plans.clear();
      this.#plans.set(planKey, plan);
    }
    if (plan.node?.kind !== 'Subscription') return [new GraphQLError('Not a subscription operation', { extensions: { code: 'BAD_USER_INPUT' } })];
    const { primary, rest } = plan.node;
    const primaryVariables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) if (request.variables[name] !== undefined) primaryVariables[name] = request.variables[name];
    const operationContext = buildOperationContext({ schema: this.#schema, operationDocument: request.document, ...(operationName ? { operationName } : {}) });
    return { primary, rest, primaryVariables, operationContext };
  }

  /** Admits `sub` and joins it to its upstream and group; an error result when it cannot. */
  async #attach(sub: Subscriber, planned: Planned): Promise<ExecutionResult | undefined> {
    const { request } = sub;
    const link = this.#opts.link(planned.primary.serviceName);
    const op: UpstreamOperation = { query: planned.primary.operation, variables: planned.primaryVariables, operationName: planned.primary.operationName };
    const admission = await link.admit(op, this.#opts.sign(request.actor), request.requestId);
    if ('errors' in admission) return { errors: admission.errors };
    if (sub.queue.ended) {
      // The subscriber left while it was being admitted.
      if (admission.lease) {
        link.holdLease(admission.lease.id, admission.lease.ttlSeconds);
        link.releaseLease(admission.lease.id);
      }
      return undefined;
    }
    this.#hold(sub, link, admission.lease);
    const upKey = [link.name, op.operationName ?? '', op.query, stableJson(op.variables), request.actor.tenantId ?? '', admission.channel].join('\n');
    let upstream = this.#upstreams.get(upKey);
    if (!upstream) upstream = this.#openUpstream(upKey, link, op, request.actor);
    const access = admission.personal ? `${accessKey(request.actor)}|${principalOf(request.actor)}` : accessKey(request.actor);
    const groupKey = [request.operationName ?? '', printed(request.document), stableJson(request.variables), access].join('\n');
    let group = upstream.groups.get(groupKey);
    if (!group) {
      const actor = admission.personal ? { ...request.actor, ip: null, requestId: null } : groupActor(request.actor);
      group = { key: groupKey, upstream, planned, variables: request.variables, actor, members: new Set() };
      upstream.groups.set(groupKey, group);
    }
    group.members.add(sub);
    sub.group = group;
    return undefined;
  }

  #hold(sub: Subscriber, link: SubgraphLink, lease: { id: string; ttlSeconds: number } | null) {
    sub.lease = lease ? { id: lease.id, link } : null;
    if (!lease) return;
    link.holdLease(lease.id, lease.ttlSeconds);
    this.#leaseHolders.set(lease.id, sub);
    link.onLeasesLost ??= (ids) => void this.#readmit(link, ids);
  }

  /**
   * Leases the subgraph no longer holds (they expired while it or Redis was down): their
   * subscribers are admitted again (so they hold one again), or ended when no longer allowed.
   */
  async #readmit(link: SubgraphLink, ids: string[]) {
    for (const id of ids) {
      const sub = this.#leaseHolders.get(id);
      this.#leaseHolders.delete(id);
      if (!sub || sub.queue.ended || sub.lease?.id !== id) continue;
      sub.lease = null;
      const { primary, primaryVariables } = sub.group.planned;
      const admission = await link.admit({ query: primary.operation, variables: primaryVariables, operationName: primary.operationName }, this.#opts.sign(sub.request.actor), sub.request.requestId);
      if ('errors' in admission) {
        if (admission.errors.some((e) => e.extensions.code === 'SERVICE_UNAVAILABLE')) {
          this.#leaseHolders.set(id, sub); // tried again at the next renewal's answer
          sub.lease = { id, link };
          link.holdLease(id, 5);
          continue;
        }
        sub.queue.push(this.#safe({ errors: admission.errors }));
        sub.queue.end();
        continue;
      }
      if (sub.queue.ended) {
        if (admission.lease) {
          link.holdLease(admission.lease.id, admission.lease.ttlSeconds);
          link.releaseLease(admission.lease.id);
        }
        continue;
      }
      this.#hold(sub, link, admission.lease);
    }
  }

  #openUpstream(key: string, link: SubgraphLink, op: UpstreamOperation, opener: Actor): Upstream {
    const upstream: Upstream = { key, link, groups: new Map(), dispose: () => {}, chain: Promise.resolve(), closed: false };
    this.#upstreams.set(key, upstream);
    this.#opts.metrics.upstreamOpened();
    upstream.dispose = link.subscribe(op, () => this.#opts.sign(opener), {
      next: (result) => {
        this.#opts.metrics.event();
        upstream.chain = upstream.chain.then(() => this.#deliver(upstream, result)).catch((err: unknown) => this.#opts.log.error({ err }, 'subscription event delivery failed'));
      },
      error: (errors) => {
        upstream.chain = upstream.chain.then(() => this.#endUpstream(upstream, errors));
      },
      complete: () => {
        upstream.chain = upstream.chain.then(() => this.#endUpstream(upstream, []));
      },
    });
    return upstream;
  }

  /** Completes one upstream event for each group and queues the results. */
  async #deliver(upstream: Upstream, event: ExecutionResult) {
    await Promise.all(
      [...upstream.groups.values()].map(async (group) => {
        if (!group.members.size) return;
        const result = this.#safe(await this.#complete(group, event));
        let delivered = 0;
        for (const member of group.members) if (member.queue.push(result)) delivered++;
        this.#opts.metrics.delivered(delivered);
      }),
    );
  }

  async #complete(group: Group, event: ExecutionResult): Promise<ExecutionResult> {
    const { primary, rest, operationContext } = group.planned;
    const eventSource: GraphQLDataSource = { process: () => Promise.resolve({ data: event.data ?? null, ...(event.errors ? { errors: event.errors } : {}) } as never) };
    const primaryFromEvent: FetchNode = { ...primary, serviceName: EVENT_SOURCE };
    const plan: QueryPlan = { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primaryFromEvent, rest] } : primaryFromEvent };
    const serviceMap: ServiceMap = new Proxy({} as ServiceMap, {
      get: (_t, name: string) => (name === EVENT_SOURCE ? eventSource : this.#opts.source(name)),
    });
    const context: FetchContext = {
      actor: group.actor,
      actorToken: this.#opts.sign(group.actor),
      requestId: randomUUID(),
      traceparent: '',
    };
    const requestContext = {
      request: { variables: group.variables },
      context,
      metrics: {},
      logger: this.#opts.log,
      cache: undefined,
      overallCachePolicy: undefined,
    } as unknown as Parameters<typeof executeQueryPlan>[2];
    return (await executeQueryPlan(plan, serviceMap, requestContext, operationContext, this.#supergraphSchema, this.#apiSchema)) as ExecutionResult;
  }

  /** `result` with its errors as a client may see them. */
  #safe(result: ExecutionResult): ExecutionResult {
    return result.errors?.length ? { ...result, errors: result.errors.map((e) => this.#opts.formatError(e)) } : result;
  }

  #endUpstream(upstream: Upstream, errors: GraphQLError[]) {
    const members = [...upstream.groups.values()].flatMap((g) => [...g.members]);
    this.#closeUpstream(upstream);
    const safe = errors.map((e) => this.#opts.formatError(e));
    for (const m of members) {
      if (safe.length) m.queue.push({ errors: safe });
      m.queue.end();
    }
  }

  #closeUpstream(upstream: Upstream) {
    if (upstream.closed) return;
    upstream.closed = true;
    this.#upstreams.delete(upstream.key);
    this.#opts.metrics.upstreamClosed();
    upstream.dispose();
  }

  /** Takes `sub` off its group (and the group, upstream, when they empty). */
  #leave(sub: Subscriber) {
    const group = sub.group as Group | undefined;
    if (!group) return;
    group.members.delete(sub);
    if (group.members.size === 0) {
      group.upstream.groups.delete(group.key);
      if (group.upstream.groups.size === 0) this.#closeUpstream(group.upstream);
    }
  }

  #detach(sub: Subscriber) {
    if (!this.#subscribers.delete(sub)) return;
    this.#opts.metrics.subscriptionsClosed();
    this.#leave(sub);
    if (sub.lease) {
      this.#leaseHolders.delete(sub.lease.id);
      sub.lease.link.releaseLease(sub.lease.id);
    }
    sub.lease = null;
  }
}

/** print(), once per document (the socket server shares one AST among identical documents). */
const prints = new WeakMap<DocumentNode, string>();
function printed(document: DocumentNode): string {
  let text = prints.get(document);
  if (text === undefined) prints.set(document, (text = print(document)));
  return text;
}

const samePrimary = (a: Planned, b: Planned) =>
  a.primary.serviceName === b.primary.serviceName && a.primary.operation === b.primary.operation && stableJson(a.primaryVariables) === stableJson(b.primaryVariables);

/** Who may share a group's per-event fetches: the same organization, kind of access and grants. */
function accessKey(a: Actor): string {
  return [a.tenantId ?? '', a.kind, a.superAdmin ? 'sa' : '', [...a.roles].sort().join(','), [...a.scopes].sort().join(',')].join('|');
}

/** The actor a group's fetches run as: its organization and grants, no particular user or key. */
function groupActor(a: Actor): Actor {
  return { ...a, userId: null, apiKeyId: null, ip: null, requestId: null };
}


/** JSON with object keys sorted, so equal variables give equal keys. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export const isSubscription = (document: DocumentNode, operationName?: string | null) => getOperationAST(document, operationName ?? undefined)?.operation === 'subscription';
