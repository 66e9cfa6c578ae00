// Internal endpoints: POST-only JSON routes that answer only a gateway-signed `service`
// actor (other contexts' workers, the gateway itself). Bad input is 400, unknown is 404.
import type { z } from 'zod';
import { ACTOR_HEADER, type ActorVerifier } from './actor.ts';
import { readBody, sendJson, type Route } from './http.ts';

export class InternalNotFound extends Error {}

export function internalRoute<Q extends z.ZodType>(
  path: string,
  verifier: Promise<ActorVerifier>,
  request: Q,
  handle: (body: z.infer<Q>) => Promise<unknown>,
): Route {
  return async (req, res, url, info) => {
    if (url.pathname !== path) return false;
    const header = req.headers[ACTOR_HEADER];
    const actor = await (await verifier).verify(typeof header === 'string' ? header : null);
    if (req.method !== 'POST' || actor?.kind !== 'service') {
      sendJson(res, 401, { error: 'internal endpoint: service callers only' });
      return true;
    }
    let parsed: z.ZodSafeParseResult<z.infer<Q>>;
    try {
      parsed = request.safeParse(JSON.parse(await readBody(req, 64 * 1024)));
    } catch {
      sendJson(res, 400, { error: 'body is not valid JSON' });
      return true;
    }
    if (!parsed.success) {
      sendJson(res, 400, { error: parsed.error.issues[0]?.message ?? 'invalid request' });
      return true;
    }
    try {
      sendJson(res, 200, await handle(parsed.data));
    } catch (err) {
      if (err instanceof InternalNotFound) {
        sendJson(res, 404, { error: err.message });
        return true;
      }
      info.log.error({ err, path }, 'internal endpoint failed');
      sendJson(res, 500, { error: 'internal error' });
    }
    return true;
  };
}
