// GraphQL Code Generator configuration, derived from schema/supergraph.config.json so a new
// subgraph needs no change here. scripts/codegen.ts runs it through @graphql-codegen/core
// (`pnpm codegen`, `pnpm codegen --check`); the shape follows the CLI's `generates` map.
//
// - subgraphs/<name>/src/__generated__/resolvers.ts: resolver types from the subgraph SDL
//   (federation-aware: `__resolveReference` for every @key type). Context comes from
//   subgraphs/<name>/src/context.ts (`export type Context`). Optional per-subgraph `mappers`
//   and `scalars` in supergraph.config.json; mapper paths are relative to the generated file,
//   e.g. "Course": "../modules/course/course.entity.ts#Course". A top-level `scalars` map
//   (e.g. "DateTime": "string") applies to every output; per-subgraph entries override it.
// - e2e/__generated__/graphql.ts: typed documents for e2e/operations/**/*.graphql, checked
//   against the supergraph's API schema (schema/supergraph.graphql without join__/link
//   machinery and @inaccessible elements), i.e. exactly what clients of the gateway see.
// - schema/trusted-documents.json: the trusted documents manifest of the same operations
//   (Apollo's persisted query manifest format: id = sha256 of the text the typed client sends),
//   which the gateway reads (gateway/src/trusted-documents.ts explains how it is used).
import { readSupergraphConfig, REPO_ROOT, SUPERGRAPH_PATH } from './scripts/compose.ts';

export type CodegenPlugin = 'typescript' | 'typescript-resolvers' | 'typescript-operations' | 'typed-document-node';

export interface CodegenOutput {
  /** Schema file, relative to the repository root. */
  schema: string;
  /**
   * How the schema file is read: `subgraph` = a federation-2 subgraph SDL (federation directives
   * are supplied); `supergraph` = a composed supergraph, reduced to its client-facing API schema.
   */
  schemaKind: 'subgraph' | 'supergraph';
  /** Operation globs, relative to the repository root. */
  documents?: string[];
  plugins: CodegenPlugin[];
  config: Record<string, unknown>;
}

/** A trusted documents manifest: the operations of `documents`, validated against `schema`. */
export interface ManifestOutput {
  /** A composed supergraph (relative to the repository root); operations are checked against its API schema. */
  schema: string;
  /** Operation globs, relative to the repository root. */
  documents: string[];
}

export interface CodegenConfig {
  /** Output path (relative to the repository root) -> how to generate it. */
  generates: Record<string, CodegenOutput>;
  /** Manifest path (relative to the repository root) -> the operations it lists. */
  manifests: Record<string, ManifestOutput>;
}

/** The typed client's operations: they become its typed documents and the trusted documents manifest. */
const CLIENT_OPERATIONS = ['e2e/operations/**/*.graphql'];

/** Options shared by every output. */
const common = {
  enumsAsTypes: true,
  useTypeImports: true, // verbatimModuleSyntax: type-only imports must say so
  skipTypename: false,
};

export function buildCodegenConfig(root: string = REPO_ROOT): CodegenConfig {
  const { subgraphs, scalars } = readSupergraphConfig(root);
  const generates: Record<string, CodegenOutput> = {};
  for (const subgraph of subgraphs) {
    generates[`subgraphs/${subgraph.name}/src/__generated__/resolvers.ts`] = {
      schema: subgraph.schema,
      schemaKind: 'subgraph',
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        ...common,
        federation: true,
        useIndexSignature: true,
        contextType: '../context.ts#Context',
        // Entity classes come in as `<Type>Model`, so they never clash with the GraphQL types.
        mapperTypeSuffix: 'Model',
        avoidOptionals: false,
        ...(subgraph.mappers ? { mappers: subgraph.mappers } : {}),
        ...(scalars || subgraph.scalars ? { scalars: { ...scalars, ...subgraph.scalars } } : {}),
      },
    };
  }
  generates['e2e/__generated__/graphql.ts'] = {
    schema: SUPERGRAPH_PATH,
    schemaKind: 'supergraph',
    documents: CLIENT_OPERATIONS,
    // typescript-operations 6 emits the enums and input types operations use by itself:
    // adding the `typescript` plugin here would declare them twice.
    plugins: ['typescript-operations', 'typed-document-node'],
    config: { ...common, ...(scalars ? { scalars } : {}) },
  };
  // Mobile apps ship these ids; organizations may require them (requireTrustedDocuments).
  const manifests: Record<string, ManifestOutput> = {
    'schema/trusted-documents.json': { schema: SUPERGRAPH_PATH, documents: CLIENT_OPERATIONS },
  };
  return { generates, manifests };
}

const config: CodegenConfig = buildCodegenConfig();
export default config;
