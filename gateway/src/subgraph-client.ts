// How the gateway reaches a subgraph: the kernel's postJson (kept-alive node:http). Apollo's
// RemoteGraphQLDataSource builds node-fetch Headers and a Request around a WHATWG fetch for
// each subgraph call; that machinery was a fifth of the gateway's CPU per heartbeat in
// `pnpm bench progress`, so ActorDataSource sends with postJson and reads this view.
import type { IncomingHttpHeaders } from 'node:http';
import type { PostResponse } from '@lectern/kernel/http-client';

export { postJson } from '@lectern/kernel/http-client';

/** The few parts of a fetch Response that Apollo's gateway reads after a subgraph call. */
export function responseView(r: PostResponse) {
  return {
    ok: r.status >= 200 && r.status < 300,
    status: r.status,
    statusText: r.statusText,
    headers: { get: (name: string) => headerValue(r.headers, name) },
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}
