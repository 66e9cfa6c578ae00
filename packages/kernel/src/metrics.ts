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
  return { registry, httpDuration, graphqlOperations, sqlStatements };
}
export type Metrics = ReturnType<typeof createMetrics>;
