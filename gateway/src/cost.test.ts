import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { GraphQLError, getNamedType, getNullableType, isInterfaceType, isListType, isObjectType, parse } from 'graphql';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { MAX_PAGE } from '@lectern/kernel/pagination';
import {
  COST_LIMIT_EXCEEDED,
  CostModel,
  DEFAULT_ASSUMED_SIZE,
  DEFAULT_LIST_SIZE,
  DEFAULT_MAX_COST,
  MUTATION_WEIGHT,
  costPlugin,
  type CostExtension,
} from './cost.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SUPERGRAPH = readFileSync(join(REPO, 'schema', 'supergraph.graphql'), 'utf8');

const DIRECTIVES = /* GraphQL */ `
  directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
`;

/** A small hand-written graph shaped like Lectern's (connections, plain lists, Node, a mutation). */
const TOY = /* GraphQL */ `
  ${DIRECTIVES}
  type Query {
    courses(first: Int, after: String, last: Int, before: String): CourseConnection!
    course(id: ID!): Course
    search(query: String!, first: Int): CourseConnection! @cost(weight: 10)
    node(id: ID!): Node
    nodes(ids: [ID!]!): [Node]!
    tags: [String!]!
    top(limit: Int = 5): [Course!]! @listSize(slicingArguments: ["limit"], requireOneSlicingArgument: false)
    strict(limit: Int, size: Int): [Course!]! @listSize(slicingArguments: ["limit", "size"])
    items(filter: Filter, expensive: Boolean @cost(weight: 7)): [Course!]! @listSize(assumedSize: 3)
    report: Report
  }
  input Filter {
    text: String @cost(weight: 4)
    status: String
  }
  type Mutation {
    createCourse(title: String!): Course
    publishCourse(id: ID!): Course @cost(weight: 3)
  }
  interface Node {
    id: ID!
  }
  type Course implements Node {
    id: ID!
    title: String!
    modules: [Module!]!
    offerings(first: Int, last: Int): OfferingConnection!
  }
  type Module {
    title: String!
    lessons: [Lesson!]!
  }
  type Lesson implements Node {
    id: ID!
    title: String!
  }
  type Offering implements Node {
    id: ID!
    cohorts(first: Int): CohortConnection!
  }
  type Cohort implements Node {
    id: ID!
    name: String!
  }
  type Report @cost(weight: 50) {
    total: Int!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type CourseConnection {
    edges: [CourseEdge!]!
    nodes: [Course!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type CourseEdge {
    cursor: String!
    node: Course!
  }
  type OfferingConnection {
    nodes: [Offering!]!
    totalCount: Int!
  }
  type CohortConnection {
    nodes: [Cohort!]!
  }
`;

const toy = CostModel.fromSupergraph(TOY);
const estimate = (query: string, variables: Record<string, unknown> = {}, model = toy, operationName?: string) =>
  model.estimate(parse(query), operationName, variables);

describe('CostModel.estimate', () => {
  it('multiplies a connection’s edges and nodes by `first`, and counts totalCount and pageInfo once', () => {
    // connection 1 + 50 × (Course 1 + scalars 0)
    expect(estimate('{ courses(first: 50) { nodes { id title } } }')).toBe(51);
    // 1 + 10 × (edge 1 + node 1) + pageInfo 1 + totalCount 0
    expect(estimate('{ courses(first: 10) { edges { cursor node { id } } pageInfo { hasNextPage } totalCount } }')).toBe(22);
    expect(estimate('{ courses(last: 5) { nodes { id } } }')).toBe(6);
    // A bigger page costs more, linearly.
    expect(estimate('{ courses(first: 100) { nodes { id } } }')).toBe(101);
  });

  it('reads the page size from variables, their defaults, and else the platform’s default page', () => {
    const q = 'query Q($n: Int) { courses(first: $n) { nodes { id } } }';
    expect(estimate(q, { n: 30 })).toBe(31);
    expect(estimate(q, {})).toBe(1 + DEFAULT_LIST_SIZE);
    expect(estimate(q, { n: null })).toBe(1 + DEFAULT_LIST_SIZE);
    expect(estimate('query Q($n: Int = 7) { courses(first: $n) { nodes { id } } }')).toBe(8);
    expect(estimate('{ courses { nodes { id } } }')).toBe(21);
    expect(DEFAULT_LIST_SIZE).toBe(20); // packages/kernel/src/pagination.ts DEFAULT_PAGE
  });

  it('multiplies nested connections', () => {
    // 1 + 10 × (Course 1 + offerings [1 + 5 × (Offering 1 + cohorts [1 + 4 × 1])])
    const q = '{ courses(first: 10) { nodes { offerings(first: 5) { nodes { cohorts(first: 4) { nodes { id } } } } } } }';
    expect(estimate(q)).toBe(1 + 10 * (1 + (1 + 5 * (1 + (1 + 4 * 1)))));
    expect(estimate(q)).toBe(321);
  });

  it('sizes plain lists by @listSize(assumedSize), else by the default assumed size', () => {
    // course 1 + 10 modules × (1 + 10 lessons × 1)
    expect(estimate('{ course(id: "c") { modules { title lessons { id } } } }')).toBe(1 + DEFAULT_ASSUMED_SIZE * (1 + DEFAULT_ASSUMED_SIZE));
    expect(estimate('{ items { id } }')).toBe(3);
    expect(estimate('{ tags }')).toBe(0); // scalars cost nothing, however many
  });

  it('sizes a list by its slicing argument, its default, and refuses a missing one where @listSize requires it', () => {
    expect(estimate('{ top { id } }')).toBe(5);
    expect(estimate('{ top(limit: 2) { id } }')).toBe(2);
    expect(estimate('{ strict(limit: 4) { id } }')).toBe(4);
    let error: unknown;
    try {
      estimate('{ strict { id } }');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    expect(() => estimate('{ strict(limit: 1, size: 2) { id } }')).toThrow(/exactly one of `limit`, `size`/);
  });

  it('sizes nodes(ids:) by the number of ids', () => {
    expect(estimate('{ nodes(ids: ["a", "b", "c"]) { id } }')).toBe(3);
    expect(estimate('query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ['a', 'b', 'c', 'd'] })).toBe(4);
  });

  it('counts fragments once per spread, inline fragments too, and the dearest possible type of an abstract field', () => {
    const named = /* GraphQL */ `
      { a: course(id: "1") { ...C } b: course(id: "2") { ...C } }
      fragment C on Course { modules { title } }
    `;
    expect(estimate(named)).toBe(2 * (1 + 10 * 1));
    // node: 1 + max(Course: 10 modules × 1, Offering: cohorts 1 + 3 × 1)
    const inline = '{ node(id: "x") { id ... on Course { modules { title } } ... on Offering { cohorts(first: 3) { nodes { id } } } } }';
    expect(estimate(inline)).toBe(11);
    // The same through named fragments spread inside an inline fragment on the interface.
    const mixed = /* GraphQL */ `
      { node(id: "x") { ... on Node { ...Co ...Of } } }
      fragment Co on Course { modules { title } }
      fragment Of on Offering { cohorts(first: 30) { nodes { id } } }
    `;
    expect(estimate(mixed)).toBe(1 + 31);
    // A fragment on the interface spread on a concrete type applies to it.
    expect(estimate('{ course(id: "c") { ...N } } fragment N on Node { id ... on Course { modules { title } } }')).toBe(11);
    // A fragment that cannot apply costs nothing.
    expect(estimate('{ course(id: "c") { ... on Node { ... on Offering { cohorts(first: 50) { nodes { id } } } } } }')).toBe(1);
  });

  it('stays linear: a fragment spread many times is priced once per type', () => {
    const spreads = Array.from({ length: 25 }, (_, i) => `c${i}: course(id: "${i}") { ...A }`).join(' ');
    const chain = Array.from({ length: 20 }, (_, i) => `fragment F${i} on Module { title ${i < 19 ? `...F${i + 1} ...F${i + 1}` : ''} }`).join('\n');
    const doc = `{ ${spreads} } fragment A on Course { modules { ...F0 } }\n${chain}`;
    const started = performance.now();
    // Each spread of the doubling chain counts (2^19 spreads of F19), yet each fragment is priced once.
    expect(estimate(doc)).toBe(25 * (1 + 10 * 1));
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('honours @skip and @include, with literals and variables', () => {
    const q = 'query Q($s: Boolean!, $i: Boolean!) { a: courses(first: 50) @skip(if: $s) { nodes { id } } b: courses(first: 5) @include(if: $i) { nodes { id } } }';
    expect(estimate(q, { s: true, i: true })).toBe(6);
    expect(estimate(q, { s: false, i: false })).toBe(51);
    expect(estimate('{ courses(first: 50) { nodes @include(if: false) { id } totalCount } }')).toBe(1);
    expect(estimate('{ course(id: "c") { ... on Course @skip(if: true) { modules { title } } } }')).toBe(1);
  });

  it('weighs root mutation fields 10 unless @cost says otherwise', () => {
    expect(estimate('mutation { createCourse(title: "x") { id } }')).toBe(MUTATION_WEIGHT);
    expect(estimate('mutation { publishCourse(id: "c") { id } }')).toBe(3);
    expect(estimate('mutation { a: createCourse(title: "x") { modules { title } } }')).toBe(MUTATION_WEIGHT + 10);
  });

  it('honours @cost on fields, types, arguments and input fields', () => {
    expect(estimate('{ search(query: "x", first: 5) { nodes { id } } }')).toBe(10 + 5);
    expect(estimate('{ report { total } }')).toBe(50);
    expect(estimate('{ items(filter: { text: "x" }) { id } }')).toBe(4 + 3);
    expect(estimate('query Q($f: Filter) { items(filter: $f) { id } }', { f: { status: 'x' } })).toBe(3);
    expect(estimate('query Q($f: Filter) { items(filter: $f, expensive: true) { id } }', { f: { text: 'x' } })).toBe(7 + 4 + 3);
  });

  it('counts introspection and __typename as 0', () => {
    expect(estimate('{ __typename __schema { types { name fields { name type { name } } } } __type(name: "Course") { name } }')).toBe(0);
  });

  it('prices the named operation of a document', () => {
    const doc = 'query Small { courses(first: 1) { nodes { id } } } query Big { courses(first: 90) { nodes { id } } }';
    expect(estimate(doc, {}, toy, 'Small')).toBe(2);
    expect(estimate(doc, {}, toy, 'Big')).toBe(91);
    expect(() => estimate(doc)).toThrow(/several operations/);
    expect(() => estimate(doc, {}, toy, 'Missing')).toThrow(/no operation named "Missing"/);
  });
});

describe('CostModel.actual', () => {
  const actual = (query: string, data: unknown, variables: Record<string, unknown> = {}) => toy.actual(parse(query), undefined, variables, data);

  it('counts the items returned: a page of 3 when 50 were asked costs less', () => {
    const q = '{ courses(first: 50) { nodes { id title } } }';
    const data = { courses: { nodes: [{ id: '1', title: 'a' }, { id: '2', title: 'b' }, { id: '3', title: 'c' }] } };
    expect(estimate(q)).toBe(51);
    expect(actual(q, data)).toBe(1 + 3);
  });

  it('counts nested lists item by item, and a null value as its field alone', () => {
    const q = '{ course(id: "c") { modules { lessons { id } } } }';
    const data = { course: { modules: [{ lessons: [{ id: 'a' }, { id: 'b' }] }, { lessons: [] }] } };
    expect(actual(q, data)).toBe(1 + (1 + 2) + (1 + 0));
    expect(actual(q, { course: null })).toBe(1);
    expect(actual(q, null)).toBe(0);
  });

  it('follows aliases and skips what was not returned', () => {
    const q = 'query Q($s: Boolean!) { a: courses(first: 5) { nodes { id } } b: courses(first: 5) @skip(if: $s) { nodes { id } } }';
    expect(actual(q, { a: { nodes: [{ id: '1' }] } }, { s: true })).toBe(2);
  });

  it('prices abstract values by their __typename when selected, else by the dearest branch', () => {
    const q = '{ nodes(ids: ["1", "2", "3"]) { __typename ... on Course { modules { title } } ... on Offering { cohorts { nodes { id } } } } }';
    const data = {
      nodes: [{ __typename: 'Course', modules: [{ title: 'm' }, { title: 'n' }] }, { __typename: 'Offering', cohorts: { nodes: [{ id: 'c' }] } }, null],
    };
    // Course 1 + 2 modules; Offering 1 + cohorts (1 + 1); null 1
    expect(actual(q, data)).toBe(3 + 3 + 1);
    const noTypename = '{ node(id: "1") { ... on Course { modules { title } } ... on Offering { cohorts { nodes { id } } } } }';
    expect(actual(noTypename, { node: { modules: [{ title: 'm' }] } })).toBe(2);
  });

  it('adds argument costs of the fields that ran', () => {
    expect(actual('{ items(filter: { text: "x" }) { id } }', { items: [{ id: '1' }] })).toBe(4 + 1);
    expect(actual('mutation { createCourse(title: "x") { id } }', { createCourse: { id: 'c' } })).toBe(MUTATION_WEIGHT);
  });
});

describe('directive names', () => {
  const base = /* GraphQL */ `
    type Query { courses: [Course!]! ${'${listSize}'} top: Course ${'${cost}'} }
    type Course { id: ID! }
  `;
  const sdl = (link: string, cost: string, listSize: string) =>
    `schema ${link} { query: Query }\n${base.replace('${listSize}', listSize).replace('${cost}', cost)}`;

  it('follows the @link of the cost spec: imported, namespaced, or renamed', () => {
    const cases = [
      ['@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])', '@cost(weight: 9)', '@listSize(assumedSize: 4)'],
      ['@link(url: "https://specs.apollo.dev/cost/v0.1")', '@cost(weight: 9)', '@cost__listSize(assumedSize: 4)'],
      ['@link(url: "https://specs.apollo.dev/cost/v0.1", as: "dc")', '@dc(weight: 9)', '@dc__listSize(assumedSize: 4)'],
      ['@link(url: "https://specs.apollo.dev/cost/v0.1", import: [{ name: "@cost", as: "@price" }, "@listSize"])', '@price(weight: 9)', '@listSize(assumedSize: 4)'],
    ] as const;
    for (const [link, cost, listSize] of cases) {
      const model = CostModel.fromSupergraph(sdl(link, cost, listSize));
      expect(model.weightOf('Query', 'top'), link).toBe(9);
      expect(model.describeListSize('Query', 'courses').size, link).toBe(4);
    }
    // Another spec's @cost is not this one.
    const other = CostModel.fromSupergraph(sdl('@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])', '@other(weight: 9)', '@listSize(assumedSize: 4)'));
    expect(other.weightOf('Query', 'top')).toBe(1);
  });
});

describe('the composed supergraph', () => {
  const model = CostModel.fromSupergraph(SUPERGRAPH);

  it('carries the subgraphs’ @cost and @listSize (composition names them through its @link)', () => {
    expect(SUPERGRAPH).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/cost\/v0\.1"/);
    expect(model.weightOf('Query', 'searchCourses')).toBe(10);
    expect(model.weightOf('Quiz', 'statistics')).toBe(10);
    expect(model.describeListSize('Session', 'participants')).toEqual({ kind: 'list', size: 50, sizedFields: [] });
    expect(model.describeListSize('Quiz', 'questions').size).toBe(25);
    expect(model.describeListSize('Query', 'courses')).toEqual({ kind: 'sized-fields', size: DEFAULT_LIST_SIZE, sizedFields: ['edges', 'nodes'] });
  });

  it('prices Lectern operations', () => {
    expect(estimate('{ courses(first: 50) { nodes { id title } } }', {}, model)).toBe(51);
    expect(estimate('{ courses { totalCount nodes { id } } }', {}, model)).toBe(21);
    // searchCourses' @cost(weight: 10) replaces the connection's 1.
    expect(estimate('{ searchCourses(query: "go", first: 20) { nodes { id } } }', {}, model)).toBe(10 + 20);
    expect(estimate('query($n: Int) { offerings(first: $n) { nodes { cohorts(first: 10) { nodes { id } } } } }', { n: 10 }, model)).toBe(1 + 10 * (1 + 1 + 10));
    expect(estimate('{ nodes(ids: ["a", "b"]) { id } }', {}, model)).toBe(2);
  });

  it('gives every list and connection field a finite size (no field silently unbounded)', () => {
    const checked: string[] = [];
    for (const type of Object.values(model.schema.getTypeMap())) {
      if (type.name.startsWith('__') || type.name.startsWith('join__') || type.name.startsWith('link__')) continue;
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const returned = getNamedType(field.type);
        const list = isListType(getNullableType(field.type));
        const connection = isObjectType(returned) && returned.name.endsWith('Connection');
        if (!list && !connection) continue;
        const coordinate = `${type.name}.${field.name}`;
        const d = model.describeListSize(type.name, field.name);
        checked.push(coordinate);
        expect(Number.isInteger(d.size), coordinate).toBe(true);
        expect(d.size, coordinate).toBeGreaterThan(0);
        expect(d.size, coordinate).toBeLessThanOrEqual(MAX_PAGE);
        // A connection is read as one: its size applies to edges/nodes, never to nothing.
        if (connection) expect(d.kind, coordinate).toBe('sized-fields');
        else expect(d.kind, coordinate).toBe('list');
      }
    }
    expect(checked.length).toBeGreaterThan(100);
  });

  it('lets every operation the repository’s clients send pass the default maximum, and refuses the multiplying ones', () => {
    const dir = join(REPO, 'e2e', 'operations');
    let priced = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql'))) {
      const doc = parse(readFileSync(join(dir, file), 'utf8'));
      for (const def of doc.definitions) {
        if (def.kind !== 'OperationDefinition' || !def.name) continue;
        // A `$first` at the largest page a client may ask for; other lists at their defaults.
        const cost = model.estimate(doc, def.name.value, { first: MAX_PAGE });
        expect(cost, `${file} ${def.name.value}`).toBeLessThanOrEqual(DEFAULT_MAX_COST);
        priced += 1;
      }
    }
    expect(priced).toBeGreaterThan(10);
    const multiplying = '{ courses(first: 100) { nodes { offerings(first: 100) { nodes { cohorts(first: 100) { nodes { id } } } } } } }';
    expect(estimate(multiplying, {}, model)).toBeGreaterThan(DEFAULT_MAX_COST);
  });
});

type Logger = Record<'debug' | 'info' | 'warn' | 'error', (message: string) => void>;

/** A toy server whose resolvers count their calls. */
function toyServer(opts: Parameters<typeof costPlugin<BaseContext & { org: string; max?: number }>>[1], logger?: Logger) {
  const calls = { courses: 0, createCourse: 0 };
  const server = new ApolloServer<BaseContext & { org: string; max?: number }>({
    ...(logger ? { logger } : {}),
    typeDefs: TOY,
    resolvers: {
      Query: {
        courses: (_: unknown, args: { first?: number }) => {
          calls.courses += 1;
          const nodes = [{ id: '1', title: 'a' }, { id: '2', title: 'b' }, { id: '3', title: 'c' }].slice(0, args.first ?? 20);
          return { nodes, edges: [], totalCount: nodes.length, pageInfo: { hasNextPage: false, endCursor: null } };
        },
      },
      Mutation: {
        createCourse: (_: unknown, args: { title: string }) => {
          calls.createCourse += 1;
          return { id: 'new', title: args.title };
        },
      },
    },
    plugins: [costPlugin(toy, opts)],
  });
  return { server, calls };
}

type Single = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: { cost?: CostExtension } };
function single(res: Awaited<ReturnType<ApolloServer<never>['executeOperation']>>): Single {
  if (res.body.kind !== 'single') throw new Error('expected a single result');
  return res.body.singleResult as Single;
}

describe('costPlugin', () => {
  it('refuses an operation above the maximum before any resolver runs, with COST_LIMIT_EXCEEDED and extensions.cost', async () => {
    const charged: number[] = [];
    const checked: number[] = [];
    const { server, calls } = toyServer({
      maxCost: 100,
      check: async (_ctx, estimated) => void checked.push(estimated),
      charge: async (_ctx, actual) => void charged.push(actual),
    });
    await server.start();
    try {
      const res = await server.executeOperation({ query: '{ courses(first: 100) { nodes { id title } } }' }, { contextValue: { org: 'o1' } });
      const body = single(res);
      expect(calls.courses).toBe(0);
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe(COST_LIMIT_EXCEEDED);
      expect(body.errors?.[0]?.message).toMatch(/estimated cost is 101, above the maximum of 100/);
      expect(body.errors?.[0]?.message).toMatch(/`first`/);
      expect(body.errors?.[0]?.extensions?.http).toBeUndefined();
      expect(res.http.status).toBe(400);
      expect(body.extensions?.cost).toEqual({ estimated: 101, maximum: 100 });
      expect(checked).toEqual([]);
      expect(charged).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('runs an operation within the maximum and charges what it actually cost', async () => {
    const charged: { org: string; actual: number }[] = [];
    const { server, calls } = toyServer({
      maxCost: (ctx) => ctx.max ?? 100,
      charge: async (ctx, actual) => {
        charged.push({ org: ctx.org, actual });
        return { remaining: 996 };
      },
    });
    await server.start();
    try {
      const body = single(await server.executeOperation({ query: 'query($n: Int) { courses(first: $n) { nodes { id } } }', variables: { n: 50 } }, { contextValue: { org: 'o1' } }));
      expect(calls.courses).toBe(1);
      expect(body.errors).toBeUndefined();
      expect((body.data?.courses as { nodes: unknown[] }).nodes).toHaveLength(3);
      expect(charged).toEqual([{ org: 'o1', actual: 4 }]);
      expect(body.extensions?.cost).toEqual({ estimated: 51, actual: 4, maximum: 100, budgetRemaining: 996 });

      // The maximum may depend on the caller.
      const low = single(await server.executeOperation({ query: '{ courses(first: 50) { nodes { id } } }' }, { contextValue: { org: 'o2', max: 10 } }));
      expect(low.errors?.[0]?.extensions?.code).toBe(COST_LIMIT_EXCEEDED);
      expect(low.extensions?.cost).toEqual({ estimated: 51, maximum: 10 });
      expect(calls.courses).toBe(1);

      const mutation = single(await server.executeOperation({ query: 'mutation { createCourse(title: "t") { id } }' }, { contextValue: { org: 'o1' } }));
      expect(mutation.extensions?.cost).toEqual({ estimated: 10, actual: 10, maximum: 100, budgetRemaining: 996 });
      expect(calls.createCourse).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('lets check refuse a spent budget (RATE_LIMITED, 429, Retry-After) before anything runs', async () => {
    let charges = 0;
    const { server, calls } = toyServer({
      maxCost: 1000,
      check: async (_ctx, estimated) => {
        throw new GraphQLError(`The organization's cost budget is spent (this operation: ${estimated}); retry in 7 seconds`, {
          extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 7 },
        });
      },
      charge: async () => {
        charges += 1;
      },
    });
    await server.start();
    try {
      const res = await server.executeOperation({ query: '{ courses(first: 5) { nodes { id } } }' }, { contextValue: { org: 'o1' } });
      const body = single(res);
      expect(calls.courses).toBe(0);
      expect(charges).toBe(0);
      expect(res.http.status).toBe(429);
      expect(res.http.headers.get('retry-after')).toBe('7');
      expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 7 });
      expect(body.extensions?.cost).toEqual({ estimated: 6, maximum: 1000 });
    } finally {
      await server.stop();
    }
  });

  it('still answers when the charge fails', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
    const { server, calls } = toyServer(
      {
        maxCost: 1000,
        charge: async () => {
          throw new Error('Connection is closed.');
        },
      },
      logger,
    );
    await server.start();
    try {
      const body = single(await server.executeOperation({ query: '{ courses(first: 2) { nodes { id } } }' }, { contextValue: { org: 'o1' } }));
      expect(calls.courses).toBe(1);
      expect(body.errors).toBeUndefined();
      expect(body.extensions?.cost).toEqual({ estimated: 3, actual: 3, maximum: 1000 });
      expect(warnings.some((w) => /could not be charged/.test(w))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('adds nothing to an operation that never resolved (a validation error)', async () => {
    const { server } = toyServer({ maxCost: 10 });
    await server.start();
    try {
      const body = single(await server.executeOperation({ query: '{ nope }' }, { contextValue: { org: 'o1' } }));
      expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.extensions?.cost).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});

describe('costPlugin on the gateway with the real supergraph', () => {
  /** A gateway over the committed supergraph whose subgraphs are stand-ins counting their calls. */
  async function gatewayServer(maxCost: number, model = CostModel.fromSupergraph(SUPERGRAPH)) {
    const calls: string[] = [];
    const gateway = new ApolloGateway({
      supergraphSdl: SUPERGRAPH,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      buildService: ({ name }): GraphQLDataSource => ({
        process: async ({ request }) => {
          calls.push(name);
          // catalog's answer to `courses(first: …) { nodes { id title } }`: a short last page.
          expect(request.query).toMatch(/courses/);
          return { data: { courses: { nodes: [{ id: 'Q291cnNlOjE', title: 'Go' }, { id: 'Q291cnNlOjI', title: 'Rust' }] } } } as never;
        },
      }),
    });
    const charged: number[] = [];
    const server = new ApolloServer({
      gateway,
      plugins: [costPlugin(model, { maxCost, charge: async (_ctx, actual) => void charged.push(actual) })],
    });
    await server.start();
    return { server, calls, charged };
  }

  it('refuses a query above the maximum before any subgraph is called, and runs one below it', async () => {
    const { server, calls, charged } = await gatewayServer(DEFAULT_MAX_COST);
    try {
      const tooDear = '{ courses(first: 100) { nodes { offerings(first: 100) { nodes { cohorts(first: 100) { nodes { id } } } } } } }';
      const refused = single(await server.executeOperation({ query: tooDear }));
      expect(refused.errors?.[0]?.extensions?.code).toBe(COST_LIMIT_EXCEEDED);
      expect(refused.extensions?.cost).toEqual({ estimated: 1 + 100 * (1 + 1 + 100 * (1 + 1 + 100)), maximum: DEFAULT_MAX_COST });
      expect(calls).toEqual([]);

      const ok = single(await server.executeOperation({ query: 'query($n: Int) { courses(first: $n) { nodes { id title } } }', variables: { n: 50 } }));
      expect(ok.errors).toBeUndefined();
      expect(calls).toEqual(['catalog']);
      expect(ok.extensions?.cost).toEqual({ estimated: 51, actual: 3, maximum: DEFAULT_MAX_COST });
      expect(charged).toEqual([3]);
    } finally {
      await server.stop();
    }
  });

  it('prices by the supergraph the gateway loaded, whatever model it started with (reloads follow)', async () => {
    const { server, calls } = await gatewayServer(25, toy);
    try {
      // The toy model knows no searchCourses (0); the supergraph's says 10 + 20.
      const refused = single(await server.executeOperation({ query: '{ searchCourses(query: "go", first: 20) { nodes { id } } }' }));
      expect(refused.extensions?.cost).toEqual({ estimated: 30, maximum: 25 });
      expect(calls).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
