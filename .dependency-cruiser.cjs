// Module boundaries of DESIGN.md, checked by `pnpm boundaries`:
//   depcruise --config .dependency-cruiser.cjs gateway subgraphs packages e2e bench scripts
// The contexts stand side by side: what one may know of another (events, job payloads,
// internal endpoints) is that context's module in packages/contracts (@lectern/contracts),
// which depends on the kernel alone; no subgraph imports another subgraph.
// Workspace packages are imported by name (@lectern/identity/server); symlinks are resolved to
// real paths (preserveSymlinks: false) so every rule below sees repository paths such as
// subgraphs/identity/src/server.ts, never node_modules/@lectern/...
/** Test harnesses (e2e/, bench/, a subgraph's test/) may start a subgraph and use its test helpers. */
const SUBGRAPH_HARNESS = '^subgraphs/[^/]+/src/(testing/|server\\.ts$)';
/** Files allowed to depend on the test runner. */
const TEST_CODE = [
  '\\.test\\.ts$',
  '(^|/)test/',
  '(^|/)src/testing/',
  '^packages/testkit/',
  '^e2e/',
  '^bench/',
  '(^|/)vitest\\.config\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cross-subgraph-imports',
      comment:
        "A subgraph never imports another subgraph: other contexts' events, job payloads and internal endpoints " +
        'come from @lectern/contracts. Meet through federation entity references and domain events.',
      severity: 'error',
      from: { path: '^subgraphs/([^/]+)/', pathNot: '^subgraphs/[^/]+/test/' },
      to: { path: '^subgraphs/', pathNot: '^subgraphs/$1/' },
    },
    {
      name: 'subgraph-tests-use-harness-entry-points',
      comment: "A subgraph's integration tests may start other subgraphs (server.ts) and seed them (testing/), nothing more.",
      severity: 'error',
      from: { path: '^subgraphs/([^/]+)/test/' },
      to: { path: '^subgraphs/', pathNot: ['^subgraphs/$1/', SUBGRAPH_HARNESS] },
    },
    {
      name: 'no-subgraph-to-app-imports',
      comment: 'Subgraphs do not depend on the gateway, e2e tests, benchmarks or scripts.',
      severity: 'error',
      from: { path: '^subgraphs/' },
      to: { path: '^(gateway|e2e|bench|scripts)/' },
    },
    {
      name: 'no-kernel-to-app-imports',
      comment: 'packages/ holds shared kernel libraries only: they never import subgraphs, the gateway, e2e, bench or scripts.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^(subgraphs|gateway|e2e|bench|scripts)/' },
    },
    {
      name: 'contracts-depend-on-kernel-only',
      comment: 'packages/contracts holds published contracts: it may import the kernel (defineEvent, roles) and zod, nothing else.',
      severity: 'error',
      from: { path: '^packages/contracts/', pathNot: '^packages/contracts/test/' },
      to: { pathNot: ['^packages/(contracts|kernel)/', '(^|/)node_modules/(\\.pnpm/)?zod[/@]'] },
    },
    {
      name: 'kernel-knows-no-contracts',
      comment: "The kernel and testkit hold no business logic: they never import a context's contract.",
      severity: 'error',
      from: { path: '^packages/', pathNot: '^packages/contracts/' },
      to: { path: '^packages/contracts/' },
    },
    {
      name: 'no-gateway-to-subgraph-imports',
      comment: "The gateway knows subgraphs only by URL (identity's token format comes from @lectern/contracts).",
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^subgraphs/' },
    },
    {
      name: 'no-gateway-to-app-imports',
      comment: 'The gateway does not depend on e2e tests, benchmarks or scripts.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^(e2e|bench|scripts)/' },
    },
    {
      name: 'harness-uses-subgraph-entry-points',
      comment: 'e2e/ and bench/ may use a subgraph only through src/server.ts and src/testing/ (contracts: @lectern/contracts).',
      severity: 'error',
      from: { path: '^(e2e|bench)/' },
      to: { path: '^subgraphs/', pathNot: SUBGRAPH_HARNESS },
    },
    {
      name: 'no-circular-kernel',
      comment: 'packages/ must stay acyclic: split the module or invert the dependency.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^packages/', circular: true },
    },
    {
      name: 'no-test-runner-in-source',
      comment: 'vitest is for tests: production code (gateway, subgraph src, kernel) must not import it.',
      severity: 'error',
      from: { pathNot: TEST_CODE },
      to: { path: '(^|/)node_modules/(\\.pnpm/)?@?vitest[/@+]' },
    },
    {
      name: 'not-to-unresolvable',
      comment: "This import can't be resolved: a typo, a missing dependency in package.json, or a missing generated file (run pnpm codegen).",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '(^|/)__generated__/|^bench/results/' },
    moduleSystems: ['es6', 'cjs'],
    tsPreCompilationDeps: true,
    preserveSymlinks: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'default'],
      extensions: ['.ts', '.js', '.d.ts'],
      // types/typings: type-only packages such as @graphql-typed-document-node/core.
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
