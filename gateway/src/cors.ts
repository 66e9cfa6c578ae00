// CORS for browser apps on other origins. Only configured origins get CORS headers
// (CORS_ORIGINS; none by default in production, the gateway's own local origins in
// development); a preflight from any other origin is answered without them, so the browser
// refuses. Credentials are bearer tokens in the Authorization header, never cookies, so
// `Access-Control-Allow-Credentials` is not sent.
import type http from 'node:http';

const ALLOW_HEADERS = 'authorization, content-type, accept, apollo-require-preflight, x-apollo-operation-name, traceparent, x-request-id';
const EXPOSE_HEADERS = 'x-request-id, retry-after';
const MAX_AGE_SECONDS = 600;

export interface Cors {
  /** Sets CORS headers for an allowed origin; answers a preflight itself (returns true). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean;
  /** Whether a browser on `origin` may use the API (WebSocket upgrades have no preflight). */
  allows(origin: string): boolean;
}

/** Origins from CORS_ORIGINS ("https://app.example.org,https://admin.example.org"), validated. */
export function parseOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      const url = new URL(o);
      if (url.origin !== o.replace(/\/$/, '')) throw new Error(`CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);
      return url.origin;
    });
}

export function corsFor(origins: readonly string[], paths: readonly string[]): Cors {
  const allowed = new Set(origins);
  return {
    allows: (origin) => allowed.has(origin),
    handle(req, res, path) {
      if (!paths.includes(path)) return false;
      const origin = req.headers.origin;
      const ok = typeof origin === 'string' && allowed.has(origin);
      res.setHeader('vary', 'Origin');
      if (ok) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
      }
      if (req.method !== 'OPTIONS') return false;
      if (ok) {
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader('access-control-allow-headers', ALLOW_HEADERS);
        res.setHeader('access-control-max-age', String(MAX_AGE_SECONDS));
      }
      res.writeHead(204);
      res.end();
      return true;
    },
  };
}
