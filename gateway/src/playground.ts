/**
 * A GraphiQL 3.9 playground served entirely from installed npm packages
 * (react, react-dom and graphiql UMD bundles), with no CDN, so it works offline.
 *
 * Routing (done by the caller):
 *   GET /playground                      -> playgroundHtml({ endpoint: '/graphql' }), text/html,
 *                                           with header Content-Security-Policy: PLAYGROUND_CSP
 *   GET /playground/assets/<file>        -> playgroundAsset(pathname) (404 when undefined)
 *
 * Queries and mutations go over HTTP; subscriptions over graphql-ws on the same endpoint
 * (GraphiQL's bundled graphql-ws client), authenticated by the headers editor's Authorization.
 *
 * The page reads optional `query`, `variables` and `headers` search params as the
 * editors' initial values, e.g.
 *   /playground?query={courses{nodes{title}}}&headers={"Authorization":"Bearer …"}
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const PLAYGROUND_ASSET_PREFIX = '/playground/assets/';

interface AssetSpec {
  /** Package whose package.json anchors the lookup (resolved from this file, so pnpm's strict layout works). */
  pkg: string;
  /** File inside that package. */
  file: string;
  contentType: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The complete whitelist: URL file name -> installed file. Nothing else is ever served. */
const ASSETS: ReadonlyMap<string, AssetSpec> = new Map([
  ['react.production.min.js', { pkg: 'react', file: 'umd/react.production.min.js', contentType: JS }],
  ['react-dom.production.min.js', { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: JS }],
  ['graphiql.min.js', { pkg: 'graphiql', file: 'graphiql.min.js', contentType: JS }],
  ['graphiql.min.css', { pkg: 'graphiql', file: 'graphiql.min.css', contentType: CSS }],
]);

const requireHere = createRequire(import.meta.url);
const cache = new Map<string, { body: Buffer; contentType: string }>();

/**
 * Returns the asset for a URL path under PLAYGROUND_ASSET_PREFIX, or undefined
 * for anything not on the fixed whitelist. Files are read lazily, once.
 * A query string or fragment on `path` is ignored.
 */
export function playgroundAsset(path: string): { body: Buffer; contentType: string } | undefined {
  const pathname = path.split(/[?#]/, 1)[0] ?? '';
  if (!pathname.startsWith(PLAYGROUND_ASSET_PREFIX)) return undefined;
  const name = pathname.slice(PLAYGROUND_ASSET_PREFIX.length);
  const spec = ASSETS.get(name); // exact match only: no traversal, no decoding tricks
  if (!spec) return undefined;
  let asset = cache.get(name);
  if (!asset) {
    const root = dirname(requireHere.resolve(`${spec.pkg}/package.json`));
    asset = { body: readFileSync(join(root, spec.file)), contentType: spec.contentType };
    cache.set(name, asset);
  }
  return asset;
}

/** URL paths of every asset the page loads (all served by playgroundAsset). */
export const PLAYGROUND_ASSET_PATHS: readonly string[] = [...ASSETS.keys()].map((n) => PLAYGROUND_ASSET_PREFIX + n);

/**
 * The one inline script. It is a constant (configuration travels in a JSON data
 * block, which CSP does not treat as script), so its sha256 can go in the CSP.
 */
const BOOTSTRAP = `
(function () {
  var config = JSON.parse(document.getElementById('playground-config').textContent);
  var params = new URLSearchParams(window.location.search);
  function param(name) {
    var v = params.get(name);
    return v === null ? undefined : v;
  }
  document.title = config.title;
  // Subscriptions go over graphql-ws on the same endpoint; the headers editor's content
  // (e.g. {"Authorization": "Bearer …"}) becomes the socket's connectionParams.
  var wsUrl = (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + config.endpoint;
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint, subscriptionUrl: wsUrl });
  var props = {
    fetcher: fetcher,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: param('variables') !== undefined || param('headers') !== undefined
  };
  var query = param('query');
  var variables = param('variables');
  var headers = param('headers');
  if (query !== undefined) props.query = query;
  if (variables !== undefined) props.variables = variables;
  if (headers !== undefined) props.headers = headers;
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
`;

const BOOTSTRAP_HASH = `'sha256-${createHash('sha256').update(BOOTSTRAP, 'utf8').digest('base64')}'`;

/**
 * Content-Security-Policy for the playground page: scripts only from this
 * origin plus the hashed inline bootstrap (no eval); GraphiQL injects inline
 * styles (verified in Chromium: it breaks without 'unsafe-inline' for styles)
 * and ships its fonts as data: URLs; requests only to this origin. GraphiQL 3
 * (CodeMirror 5) uses no workers, so worker-src falls back to 'none'.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  `script-src 'self' ${BOOTSTRAP_HASH}`,
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element (cannot close it or start a comment). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function playgroundHtml(opts: { endpoint: string; title?: string }): string {
  const title = opts.title ?? 'Lectern GraphQL playground';
  const asset = (name: string): string => escapeHtml(PLAYGROUND_ASSET_PREFIX + name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset('graphiql.min.css')}">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script type="application/json" id="playground-config">${scriptJson({ endpoint: opts.endpoint, title })}</script>
<script src="${asset('react.production.min.js')}"></script>
<script src="${asset('react-dom.production.min.js')}"></script>
<script src="${asset('graphiql.min.js')}"></script>
<script>${BOOTSTRAP}</script>
</body>
</html>
`;
}
