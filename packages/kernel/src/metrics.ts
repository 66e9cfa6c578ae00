import client from 'prom-client';

/** One registry a process; default Node metrics plus the HTTP and SQL counters every process shares. */
export function createMetrics(service: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'lectern_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const graphqlOperations = new client.Counter({
    name: 'lectern_graphql_operations_total',
    help: 'GraphQL operations executed',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const sqlStatements = new client.Counter({
    name: 'lectern_sql_statements_total',
    help: 'SQL statements sent to PostgreSQL',
    registers: [registry],
  });
  const subscriptionsActive = new client.Gauge({
    name: 'lectern_subscriptions_active',
    help: 'GraphQL subscriptions open on this process (direct: a client; shared: a gateway upstream)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const subscriptionEvents = new client.Counter({
    name: 'lectern_subscription_events_total',
    help: 'Subscription events: published (by this process), delivered, skipped (the field resolved to null), dropped (a slow subscriber’s queue was full)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const dependencyUp = new client.Gauge({
    name: 'lectern_dependency_up',
    help: 'Whether a dependency the process serves without answered its last /readyz check (1) or not (0): the gateway\'s subgraphs',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  return { registry, httpDuration, graphqlOperations, sqlStatements, subscriptionsActive, subscriptionEvents, dependencyUp };
}
export type Metrics = ReturnType<typeof createMetrics>;
