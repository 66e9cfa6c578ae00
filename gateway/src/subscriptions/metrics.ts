// Prometheus metrics of the gateway's subscriptions, on the gateway's /metrics.
import client from 'prom-client';
import type { Metrics } from '@lectern/kernel/metrics';
import type { EngineMetrics } from './engine.ts';

export interface SubscriptionMetrics extends EngineMetrics {
  socketOpened(): void;
  socketClosed(): void;
  terminated(): void;
  /** Whether the gateway's graphql-ws socket to `subgraph` is up. */
  link(subgraph: string, connected: boolean): void;
}

export function subscriptionMetrics(metrics: Metrics): SubscriptionMetrics {
  const registers = [metrics.registry];
  const sockets = new client.Gauge({ name: 'lectern_gateway_websockets_open', help: 'WebSocket connections open', registers });
  const active = new client.Gauge({ name: 'lectern_gateway_subscriptions_active', help: 'Client subscriptions active', registers });
  const upstream = new client.Gauge({ name: 'lectern_gateway_upstream_subscriptions', help: 'Subscriptions open to subgraphs (shared by identical client subscriptions)', registers });
  const events = new client.Counter({ name: 'lectern_gateway_subscription_events_total', help: 'Events received from subgraphs', registers });
  const delivered = new client.Counter({ name: 'lectern_gateway_subscription_results_total', help: 'Results queued for subscribers', registers });
  const dropped = new client.Counter({ name: 'lectern_gateway_subscription_results_dropped_total', help: 'Results dropped because a subscriber read too slowly', registers });
  const terminated = new client.Counter({ name: 'lectern_gateway_websockets_terminated_total', help: 'Sockets terminated for not answering pings', registers });
  const links = new client.Gauge({ name: 'lectern_gateway_subscription_link_up', help: "1 while the gateway's graphql-ws socket to a subgraph is connected", labelNames: ['subgraph'] as const, registers });
  return {
    socketOpened: () => sockets.inc(),
    socketClosed: () => sockets.dec(),
    terminated: () => terminated.inc(),
    link: (subgraph, connected) => links.set({ subgraph }, connected ? 1 : 0),
    subscriptionsOpened: () => active.inc(),
    subscriptionsClosed: () => active.dec(),
    upstreamOpened: () => upstream.inc(),
    upstreamClosed: () => upstream.dec(),
    event: () => events.inc(),
    delivered: (n) => delivered.inc(n),
    dropped: () => dropped.inc(),
  };
}
