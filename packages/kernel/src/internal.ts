// Internal endpoints: POST-only JSON routes that answer only other Lectern services, each
// proving who it is with its own credential (service-auth.ts, header x-lectern-service).
// A route may name the callers it serves; a body's `tenantId` must be the tenant the
// caller's token was issued for. No user actor (not even the gateway's) opens one, and a
// service credential opens nothing else. Bad input is 400, unknown is 404.
import type { z } from 'zod';
import { readBody, sendJson, type Route } from './http.ts';
import { SERVICE_HEADER, type ServiceCaller, type ServiceName, type ServiceVerifier } from './service-auth.ts';

export class InternalNotFound extends Error {}

export function internalRoute<Q extends z.ZodType>(
  path: string,
  verifier: ServiceVerifier,
  request: Q,
  handle: (body: z.infer<Q>, caller: ServiceCaller) => Promise<unknown>,
  /** The services this endpoint answers; every Lectern service when omitted. */
  callers?: readonly ServiceName[],
): Route {
  return async (req, res, url, info) => {
    if (url.pathname !== path) return false;
    const header = req.headers[SERVICE_HEADER];
    const caller = verifier.verify(typeof header === 'string' ? header : null);
    if (req.method !== 'POST' || !caller || (callers && !callers.includes(caller.service))) {
      sendJson(res, 401, { error: 'internal endpoint: Lectern services only' });
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
    const body = parsed.data as unknown;
    if (typeof body === 'object' && body !== null && 'tenantId' in body && body.tenantId !== caller.tenantId) {
      sendJson(res, 403, { error: 'tenantId is not the tenant this credential was issued for' });
      return true;
    }
    try {
      sendJson(res, 200, await handle(parsed.data, caller));
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
