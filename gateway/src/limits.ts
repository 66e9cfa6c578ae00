/**
 * Production-safe operation limits, implemented as graphql-js validation rules.
 *
 * Wire them into Apollo Server as
 *
 *   new ApolloServer({
 *     gateway,
 *     validationRules: limitRules(),
 *     parseOptions: { maxTokens: MAX_TOKENS },
 *   })
 *
 * All rules are linear in the size of the document: every fragment's
 * contribution is computed once per validation (memoised) and fragment
 * cycles are cut off rather than followed (graphql's own NoFragmentCyclesRule
 * reports the cycle itself). Each rule reports at most one error per
 * operation (the directive rule: one per document), and reports it on entering
 * the operation/document, i.e. before graphql's own rules can abort validation.
 */
import { GraphQLError, Kind, visit } from 'graphql';
import type {
  ASTVisitor,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
} from 'graphql';

export interface Limits {
  /** Maximum nesting of field selections (`{ a { b } }` has depth 2). */
  maxDepth: number;
  /**
   * Maximum nesting below an introspection root field (`__schema` / `__type`),
   * counted from that field. Introspection subtrees are exempt from `maxDepth`
   * so tools such as GraphiQL can introspect, but are still bounded by this.
   */
  maxIntrospectionDepth: number;
  /** Maximum number of aliased fields per operation (fragments included, per spread). */
  maxAliases: number;
  /** Maximum number of directive usages in the whole document. */
  maxDirectives: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 12,
  // graphql-js 16's full getIntrospectionQuery() (as sent by GraphiQL) is 15
  // levels deep from `__schema` (the TypeRef fragment's ofType chain); 20 leaves
  // headroom for other tools and keeps it bounded.
  maxIntrospectionDepth: 20,
  maxAliases: 30,
  maxDirectives: 25,
});

/** Pass as Apollo Server's `parseOptions: { maxTokens: MAX_TOKENS }`. */
export const MAX_TOKENS = 2000;

const CODE = 'GRAPHQL_VALIDATION_FAILED';

function limitError(message: string, node?: OperationDefinitionNode): GraphQLError {
  return new GraphQLError(message, {
    ...(node ? { nodes: node } : {}),
    extensions: { code: CODE },
  });
}

function describeOperation(op: OperationDefinitionNode): string {
  return op.name ? ` in operation "${op.name.value}"` : '';
}

function isIntrospectionRoot(name: string): boolean {
  return name === '__schema' || name === '__type';
}

interface DepthResult {
  /** Depth counted against maxDepth (introspection subtrees contribute only their root field). */
  depth: number;
  /** Deepest introspection subtree, measured from its root field. */
  introspection: number;
}

/**
 * Rejects operations whose field selections nest deeper than `maxDepth`.
 * Fragment spreads are followed (their depth adds at the spread's level);
 * inline fragments do not add a level.
 */
export function depthLimitRule(
  maxDepth: number = DEFAULT_LIMITS.maxDepth,
  maxIntrospectionDepth: number = DEFAULT_LIMITS.maxIntrospectionDepth,
): ValidationRule {
  return function DepthLimitRule(context: ValidationContext): ASTVisitor {
    // Memoised per validation, shared by all operations of the document.
    const normalMemo = new Map<string, DepthResult>();
    const introMemo = new Map<string, number>();
    const inProgress = new Set<string>();
    const introInProgress = new Set<string>();

    function fragment(name: string): FragmentDefinitionNode | undefined {
      return context.getFragment(name) ?? undefined;
    }

    /** Depth of a selection set in which every field counts (inside introspection). */
    function introDepth(set: SelectionSetNode): number {
      let max = 0;
      for (const sel of set.selections) {
        switch (sel.kind) {
          case Kind.FIELD: {
            const d = 1 + (sel.selectionSet ? introDepth(sel.selectionSet) : 0);
            if (d > max) max = d;
            break;
          }
          case Kind.INLINE_FRAGMENT: {
            const d = introDepth(sel.selectionSet);
            if (d > max) max = d;
            break;
          }
          case Kind.FRAGMENT_SPREAD: {
            const name = sel.name.value;
            let d = introMemo.get(name);
            if (d === undefined) {
              const def = fragment(name);
              if (!def || introInProgress.has(name)) {
                d = 0; // unknown fragment or cycle: reported by graphql's own rules
              } else {
                introInProgress.add(name);
                d = introDepth(def.selectionSet);
                introInProgress.delete(name);
                introMemo.set(name, d);
              }
            }
            if (d > max) max = d;
            break;
          }
        }
      }
      return max;
    }

    function normalDepth(set: SelectionSetNode): DepthResult {
      let depth = 0;
      let introspection = 0;
      const take = (r: DepthResult): void => {
        if (r.depth > depth) depth = r.depth;
        if (r.introspection > introspection) introspection = r.introspection;
      };
      for (const sel of set.selections) {
        switch (sel.kind) {
          case Kind.FIELD: {
            if (isIntrospectionRoot(sel.name.value)) {
              const i = 1 + (sel.selectionSet ? introDepth(sel.selectionSet) : 0);
              take({ depth: 1, introspection: i });
            } else if (sel.selectionSet) {
              const inner = normalDepth(sel.selectionSet);
              take({ depth: 1 + inner.depth, introspection: inner.introspection });
            } else {
              take({ depth: 1, introspection: 0 });
            }
            break;
          }
          case Kind.INLINE_FRAGMENT:
            take(normalDepth(sel.selectionSet));
            break;
          case Kind.FRAGMENT_SPREAD: {
            const name = sel.name.value;
            let r = normalMemo.get(name);
            if (r === undefined) {
              const def = fragment(name);
              if (!def || inProgress.has(name)) {
                r = { depth: 0, introspection: 0 };
              } else {
                inProgress.add(name);
                r = normalDepth(def.selectionSet);
                inProgress.delete(name);
                normalMemo.set(name, r);
              }
            }
            take(r);
            break;
          }
        }
      }
      return { depth, introspection };
    }

    return {
      OperationDefinition(node) {
        const { depth, introspection } = normalDepth(node.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            limitError(`Query depth ${depth} exceeds the maximum of ${maxDepth}${describeOperation(node)}.`, node),
          );
        } else if (introspection > maxIntrospectionDepth) {
          context.reportError(
            limitError(
              `Introspection query depth ${introspection} exceeds the maximum of ${maxIntrospectionDepth}${describeOperation(node)}.`,
              node,
            ),
          );
        }
        return false; // the whole operation was measured; no need to visit its children
      },
      FragmentDefinition() {
        return false;
      },
    };
  };
}

/**
 * Rejects operations with more than `maxAliases` aliased fields (an aliased `__typename`
 * included). A plain `__typename` is not counted: Apollo Client adds one to every selection
 * set, and repeats of an unaliased field share one response key, so graphql executes them
 * once. Fragments count once per spread (that is how many times they execute), computed in
 * linear time via memoisation.
 */
export function aliasLimitRule(maxAliases: number = DEFAULT_LIMITS.maxAliases): ValidationRule {
  return function AliasLimitRule(context: ValidationContext): ASTVisitor {
    const memo = new Map<string, number>();
    const inProgress = new Set<string>();

    function count(set: SelectionSetNode): number {
      let n = 0;
      for (const sel of set.selections) {
        switch (sel.kind) {
          case Kind.FIELD:
            if (sel.alias) n += 1;
            if (sel.selectionSet) n += count(sel.selectionSet);
            break;
          case Kind.INLINE_FRAGMENT:
            n += count(sel.selectionSet);
            break;
          case Kind.FRAGMENT_SPREAD: {
            const name = sel.name.value;
            let c = memo.get(name);
            if (c === undefined) {
              const def = context.getFragment(name);
              if (!def || inProgress.has(name)) {
                c = 0;
              } else {
                inProgress.add(name);
                c = count(def.selectionSet);
                inProgress.delete(name);
                memo.set(name, c);
              }
            }
            n += c;
            break;
          }
        }
      }
      return n;
    }

    return {
      OperationDefinition(node) {
        const n = count(node.selectionSet);
        if (n > maxAliases) {
          context.reportError(
            limitError(
              `Query uses ${n} aliases, exceeding the maximum of ${maxAliases}${describeOperation(node)}.`,
              node,
            ),
          );
        }
        return false;
      },
      FragmentDefinition() {
        return false;
      },
    };
  };
}

/** Rejects documents with more than `maxDirectives` directive usages in total. */
export function directiveLimitRule(maxDirectives: number = DEFAULT_LIMITS.maxDirectives): ValidationRule {
  return function DirectiveLimitRule(context: ValidationContext): ASTVisitor {
    return {
      // Count up front (one linear walk) and report on entering the document, so the
      // error is recorded even if a later rule aborts validation (graphql 16.15's
      // OverlappingFieldsCanBeMergedRule aborts once its work budget is spent).
      Document(node) {
        let n = 0;
        visit(node, {
          Directive() {
            n += 1;
          },
        });
        if (n > maxDirectives) {
          context.reportError(limitError(`Document uses ${n} directives, exceeding the maximum of ${maxDirectives}.`));
        }
        return false;
      },
    };
  };
}

/** All limit rules, to pass as Apollo Server's `validationRules`. */
export function limitRules(opts: Partial<Limits> = {}): ValidationRule[] {
  const l: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(l) as (keyof Limits)[]) {
    const v = opts[key];
    if (v !== undefined) l[key] = v;
  }
  return [
    depthLimitRule(l.maxDepth, l.maxIntrospectionDepth),
    aliasLimitRule(l.maxAliases),
    directiveLimitRule(l.maxDirectives),
  ];
}
