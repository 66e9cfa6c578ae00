import { describe, it, expect } from 'vitest';
import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import type { GraphQLError } from 'graphql';
import {
  DEFAULT_LIMITS,
  MAX_TOKENS,
  aliasLimitRule,
  depthLimitRule,
  directiveLimitRule,
  limitRules,
} from './limits.ts';

const schema = buildSchema(/* GraphQL */ `
  type Query {
    node: Node
    courses(first: Int): CourseConnection!
  }
  type Node {
    id: ID!
    name: String
    child: Node
  }
  type CourseConnection {
    nodes: [Course!]!
    totalCount: Int!
  }
  type Course {
    id: ID!
    title: String!
    author: Author
  }
  type Author {
    id: ID!
    name: String!
  }
`);

/** Validates with graphql's specified rules plus the limit rules; returns only messages. */
function check(source: string, rules = limitRules()): string[] {
  return validate(schema, parse(source), [...specifiedRules, ...rules]).map((e) => e.message);
}

function limitErrors(source: string, rules = limitRules()): GraphQLError[] {
  // Only our rules, so the assertions don't depend on graphql's own messages.
  return [...validate(schema, parse(source), rules)];
}

/** `{ node { child { child … { id } } } }` with `depth` levels of field selections. */
function nested(depth: number): string {
  if (depth === 1) return '{ __typename }';
  let inner = 'id';
  for (let i = 0; i < depth - 2; i++) inner = `child { ${inner} }`;
  return `{ node { ${inner} } }`;
}

describe('MAX_TOKENS', () => {
  it('is 2000', () => {
    expect(MAX_TOKENS).toBe(2000);
  });

  it('makes parse() reject a 5,000-token document', () => {
    // `{` + 4,998 × `id` + `}` = 5,000 tokens
    const doc = `{ ${'id '.repeat(4998)}}`;
    expect(() => parse(doc, { maxTokens: MAX_TOKENS })).toThrow(/Document contains more tha[nt] 2000 tokens/);
    expect(() => parse(doc)).not.toThrow();
  });

  it('still allows the full introspection query', () => {
    const q = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    expect(() => parse(q, { maxTokens: MAX_TOKENS })).not.toThrow();
  });
});

describe('limitRules', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_LIMITS).toMatchObject({ maxDepth: 12, maxAliases: 30, maxDirectives: 25 });
    expect(limitRules()).toHaveLength(3);
  });

  it('accepts a normal query', () => {
    const q = /* GraphQL */ `
      query Courses($first: Int) {
        courses(first: $first) {
          totalCount
          nodes { id title author { id name __typename } __typename }
          __typename
        }
      }
    `;
    expect(check(q)).toEqual([]);
  });

  it('accepts the full introspection query (as sent by GraphiQL)', () => {
    const q = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    expect(check(q)).toEqual([]);
  });

  it('honours overrides and ignores undefined ones', () => {
    expect(check(nested(5), limitRules({ maxDepth: 4 }))).toEqual(['Query depth 5 exceeds the maximum of 4.']);
    expect(check(nested(12), limitRules({ maxDepth: undefined }))).toEqual([]);
  });
});

describe('depth limit', () => {
  it('accepts depth ≤ 12', () => {
    for (const d of [1, 2, 6, 11, 12]) expect(check(nested(d)), `depth ${d}`).toEqual([]);
  });

  it('rejects depth 13 and depth 50 with one error per operation', () => {
    expect(check(nested(13))).toEqual(['Query depth 13 exceeds the maximum of 12.']);
    const errors = limitErrors(nested(50));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('Query depth 50 exceeds the maximum of 12.');
    expect(errors[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(errors[0]?.locations).toEqual([{ line: 1, column: 1 }]);
  });

  it('reports each offending operation once, naming it', () => {
    const doc = `query A ${nested(20)} query B ${nested(3)} query C ${nested(14)}`;
    expect(limitErrors(doc).map((e) => e.message)).toEqual([
      'Query depth 20 exceeds the maximum of 12 in operation "A".',
      'Query depth 14 exceeds the maximum of 12 in operation "C".',
    ]);
  });

  it('follows fragment spreads and inline fragments', () => {
    // root `node` + 4 levels in each of F1, F2, F3 + the innermost `id` = 14
    const frag = (name: string, next: string) =>
      `fragment ${name} on Node { child { child { child { child { id ${next} } } } } }`;
    const doc = `
      { node { ...F1 } }
      ${frag('F1', '...F2')}
      ${frag('F2', '... on Node { ...F3 }')}
      ${frag('F3', '')}
    `;
    expect(check(doc)).toEqual(['Query depth 14 exceeds the maximum of 12.']);
    expect(check(doc, limitRules({ maxDepth: 14 }))).toEqual([]);
  });

  it('counts a fragment at the depth of each spread (deepest wins)', () => {
    const doc = `
      { node { ...Deep child { child { child { ...Deep } } } } }
      fragment Deep on Node { child { child { child { child { child { child { child { child { id } } } } } } } } }
    `;
    // root node (1) + 3 child levels + 9 in Deep = 13
    expect(limitErrors(doc).map((e) => e.message)).toEqual(['Query depth 13 exceeds the maximum of 12.']);
  });

  it('does not hang on cyclic fragments', () => {
    const doc = `
      { node { ...A } }
      fragment A on Node { child { ...B } }
      fragment B on Node { child { ...A id } }
      fragment C on Node { ...C }
    `;
    const started = Date.now();
    expect(limitErrors(doc)).toEqual([]);
    const all = check(doc);
    expect(all.some((m) => m.includes('Cannot spread fragment "A" within itself'))).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('exempts introspection from maxDepth but still bounds it', () => {
    // `{ __schema { types { fields { type { ofType { ofType … } } } } } }`
    const intro = (levels: number) => {
      let inner = 'name';
      for (let i = 0; i < levels; i++) inner = `ofType { ${inner} }`;
      return `{ __type(name: "Query") { ${inner} } }`;
    };
    expect(limitErrors(intro(18))).toEqual([]); // depth 20, within the introspection allowance
    expect(limitErrors(intro(30)).map((e) => e.message)).toEqual([
      'Introspection query depth 32 exceeds the maximum of 20.',
    ]);
    expect(limitErrors(intro(8), [depthLimitRule(12, 5)])).toHaveLength(1);
  });

  it('is linear: a long chain of fragments each spread twice is measured quickly', () => {
    // Without memoisation this would be 2^200 visits.
    const n = 200;
    const frags: string[] = [];
    for (let i = 0; i < n; i++) {
      const next = i + 1 < n ? `...F${i + 1} ... on Node { ...F${i + 1} }` : 'id';
      frags.push(`fragment F${i} on Node { ${next} }`);
    }
    const doc = `{ node { ...F0 } } ${frags.join('\n')}`;
    const started = Date.now();
    expect(limitErrors(doc)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('alias limit', () => {
  it('rejects 1,000 aliases with a single error', () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `a${i}: courses { totalCount }`).join(' ');
    const errors = limitErrors(`{ ${fields} }`);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      'Query uses 1000 aliases, exceeding the maximum of 30.',
    );
    expect(errors[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('does not count a plain __typename (Apollo Client adds one to every selection set)', () => {
    // A dashboard as Apollo Client sends it: 56 selection sets, each with its __typename, and 20 aliases.
    const sets = Array.from({ length: 20 }, (_, i) => `f${i}: courses { __typename }`).join(' ');
    const nested = `courses { __typename nodes { __typename id authors { __typename id } modules { __typename lessons { __typename id } } } pageInfo { __typename endCursor } }`;
    const doc = `{ __typename ${sets} ${Array.from({ length: 5 }, () => nested).join(' ')} }`;
    expect(limitErrors(doc, [aliasLimitRule()])).toEqual([]);
  });

  it('refuses a flood of aliased __typename selections', () => {
    const doc = `{ ${Array.from({ length: 1000 }, (_, i) => `t${i}: __typename`).join(' ')} }`;
    expect(limitErrors(doc, [aliasLimitRule()]).map((e) => e.message)).toEqual(['Query uses 1000 aliases, exceeding the maximum of 30.']);
  });

  it('accepts up to 30', () => {
    const fields = Array.from({ length: 29 }, (_, i) => `a${i}: node { id }`).join(' ');
    expect(check(`{ ${fields} x: node { id } __typename }`)).toEqual([]);
    expect(check(`{ ${fields} x: node { id } y: __typename }`)).toHaveLength(1);
  });

  it('counts aliases inside fragments, once per spread', () => {
    const frag = `fragment F on Node { ${Array.from({ length: 10 }, (_, i) => `n${i}: name`).join(' ')} }`;
    expect(check(`{ node { ...F child { ...F } } } ${frag}`)).toEqual([]); // 20
    expect(check(`{ node { ...F child { ...F child { ... on Node { ...F t: __typename } } } } } ${frag}`)).toEqual([
      'Query uses 31 aliases, exceeding the maximum of 30.',
    ]);
  });

  it('counts fragment amplification without exponential work', () => {
    // F_i spreads F_{i+1} twice at different levels: 2^40 aliases, computed in linear time.
    const n = 40;
    const frags: string[] = [];
    for (let i = 0; i < n; i++) {
      const body = i + 1 < n ? `...F${i + 1} child { ...F${i + 1} }` : 'x: id';
      frags.push(`fragment F${i} on Node { ${body} }`);
    }
    const started = Date.now();
    const errors = limitErrors(`{ node { ...F0 } } ${frags.join('\n')}`, [aliasLimitRule()]);
    expect(errors.map((e) => e.message)).toEqual([
      `Query uses ${2 ** 39} aliases, exceeding the maximum of 30.`,
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('does not hang on cyclic fragments', () => {
    const doc = `{ node { ...A } } fragment A on Node { x: id child { ...B } } fragment B on Node { y: id ...A }`;
    expect(limitErrors(doc, [aliasLimitRule()])).toEqual([]);
  });
});

describe('directive limit', () => {
  it('rejects 100 directives with a single error', () => {
    const doc = `{ ${'node @skip(if: false) { id } '.repeat(100)}}`;
    const errors = validate(schema, parse(doc), [...specifiedRules, ...limitRules()]);
    expect(errors.map((e) => e.message)).toEqual(['Document uses 100 directives, exceeding the maximum of 25.']);
    expect(errors[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('counts directives everywhere in the document, including fragments', () => {
    const frag = `fragment F on Node { ${'name @include(if: true) '.repeat(20)}}`;
    expect(limitErrors(`{ node { ...F } } ${frag}`, [directiveLimitRule()])).toEqual([]);
    expect(
      limitErrors(`{ node @skip(if: false) { ...F @skip(if: false) } } ${frag}`, [directiveLimitRule(21)]).map(
        (e) => e.message,
      ),
    ).toEqual(['Document uses 22 directives, exceeding the maximum of 21.']);
  });

  it('accepts 25', () => {
    expect(check(`{ ${'node @skip(if: false) { id } '.repeat(25)}}`)).toEqual([]);
  });
});
