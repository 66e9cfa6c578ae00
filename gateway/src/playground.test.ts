import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import {
  PLAYGROUND_ASSET_PATHS,
  PLAYGROUND_ASSET_PREFIX,
  PLAYGROUND_CSP,
  playgroundAsset,
  playgroundHtml,
} from './playground.ts';

const html = playgroundHtml({ endpoint: '/graphql', title: 'Lectern' });

/** Every src/href attribute value in the page. */
function referencedUrls(page: string): string[] {
  return [...page.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
}

function inlineScripts(page: string): string[] {
  return [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
}

describe('playgroundHtml', () => {
  it('references no other host (no CDN)', () => {
    // Any absolute URL at all would be another host: the page only uses root-relative paths.
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/(?:src|href)="\/\//); // protocol-relative
    for (const url of referencedUrls(html)) {
      expect(url === 'data:,' || url.startsWith(PLAYGROUND_ASSET_PREFIX), url).toBe(true);
    }
  });

  it('references exactly the served assets, each with the right content type', () => {
    const assets = referencedUrls(html).filter((u) => u.startsWith(PLAYGROUND_ASSET_PREFIX));
    expect(assets.sort()).toEqual([...PLAYGROUND_ASSET_PATHS].sort());
    expect(assets).toEqual(
      expect.arrayContaining([
        '/playground/assets/react.production.min.js',
        '/playground/assets/react-dom.production.min.js',
        '/playground/assets/graphiql.min.js',
        '/playground/assets/graphiql.min.css',
      ]),
    );
    for (const path of assets) {
      const asset = playgroundAsset(path);
      expect(asset, path).toBeDefined();
      expect(asset!.body.length, path).toBeGreaterThan(1000);
      expect(asset!.contentType).toBe(
        path.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      );
    }
  });

  it('loads scripts in dependency order: react, react-dom, graphiql, then the bootstrap', () => {
    const order = ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', '<script>'].map((s) =>
      html.indexOf(s),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('renders GraphiQL against the endpoint with the headers editor and URL-param initial values', () => {
    const [bootstrap, ...rest] = inlineScripts(html);
    expect(rest).toEqual([]);
    expect(bootstrap).toContain('GraphiQL.createFetcher({ url: config.endpoint, subscriptionUrl: wsUrl })');
    expect(bootstrap).toContain('isHeadersEditorEnabled: true');
    expect(bootstrap).toContain('shouldPersistHeaders: false');
    expect(bootstrap).toContain('document.title = config.title');
    for (const p of ['query', 'variables', 'headers']) expect(bootstrap).toContain(`param('${p}')`);
    expect(html).toContain('<script type="application/json" id="playground-config">{"endpoint":"/graphql","title":"Lectern"}</script>');
    expect(html).toContain('<title>Lectern</title>');
  });

  it('keeps the inline script constant and allowed by the CSP hash', () => {
    const other = playgroundHtml({ endpoint: '/other', title: 'x' });
    expect(inlineScripts(other)).toEqual(inlineScripts(html));
    const hash = createHash('sha256').update(inlineScripts(html)[0] ?? '', 'utf8').digest('base64');
    expect(PLAYGROUND_CSP).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(PLAYGROUND_CSP).not.toContain('unsafe-eval');
    expect(PLAYGROUND_CSP).toMatch(/default-src 'none'/);
    expect(PLAYGROUND_CSP).toMatch(/connect-src 'self'/);
  });

  it('escapes the title and endpoint so they cannot break out of the page', () => {
    const evil = playgroundHtml({ endpoint: '/g"</script><script>alert(1)</script>', title: '</title><script>x</script>' });
    expect(inlineScripts(evil)).toHaveLength(1);
    expect(evil).not.toContain('</script><script>alert(1)');
    expect(evil).toContain('<title>&#60;/title&#62;&#60;script&#62;x&#60;/script&#62;</title>');
    const json = /id="playground-config">([^<]*)<\/script>/.exec(evil)?.[1];
    expect(JSON.parse(json ?? 'null')).toEqual({
      endpoint: '/g"</script><script>alert(1)</script>',
      title: '</title><script>x</script>',
    });
  });

  it('has a default title', () => {
    expect(playgroundHtml({ endpoint: '/graphql' })).toContain('"title":"Lectern GraphQL playground"');
  });
});

describe('playgroundAsset', () => {
  it('serves the real package files, cached', () => {
    const a = playgroundAsset('/playground/assets/graphiql.min.js');
    expect(a?.body.toString('utf8', 0, 400)).toContain('.GraphiQL=');
    expect(playgroundAsset('/playground/assets/graphiql.min.js')).toBe(a);
    expect(playgroundAsset('/playground/assets/react.production.min.js')?.body.toString()).toContain('React');
    expect(playgroundAsset('/playground/assets/graphiql.min.css')?.body.toString()).toContain('.graphiql-container');
  });

  it('ignores a query string', () => {
    expect(playgroundAsset('/playground/assets/graphiql.min.css?v=1')).toBe(
      playgroundAsset('/playground/assets/graphiql.min.css'),
    );
  });

  it('returns undefined for unknown paths and traversal attempts', () => {
    for (const path of [
      '',
      '/',
      '/playground',
      '/playground/assets/',
      '/playground/assets/nope.js',
      '/playground/assets/graphiql.js',
      '/playground/assets/graphiql.min.js.map',
      '/playground/assets/../../package.json',
      '/playground/assets/..%2f..%2fpackage.json',
      '/playground/assets/%2e%2e/%2e%2e/etc/passwd',
      '/playground/assets/../assets/graphiql.min.js',
      '/playground/assets//graphiql.min.js',
      '/playground/assets/GRAPHIQL.MIN.JS',
      '/playground/assets/react/package.json',
      '/playground/assets/constructor',
      '/playground/assets/__proto__',
      '/etc/passwd',
      '/assets/graphiql.min.js',
      'graphiql.min.js',
    ]) {
      expect(playgroundAsset(path), path).toBeUndefined();
    }
  });
});
