// Calls another context's internal endpoint with this service's own credential
// (service-auth.ts): facts events deliberately do not carry, such as an email address at
// send time, or whether a user may author courses.
// Tracing on (tracing.ts), a call made inside a span gets a CLIENT span and sends its traceparent.
import type { z } from 'zod';
import { serviceUnavailable } from './errors.ts';
import { SERVICE_HEADER, type ServiceCredential, type ServiceName } from './service-auth.ts';
import { activeSpan, inSpan, isTracing, SpanKind, traceHeaders } from './tracing.ts';

/** A failed internal call: status 0 when the callee did not answer at all. */
export class ServiceCallError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
  /** Whether the callee is down or failing (retry later), as opposed to refusing the request. */
  get unavailable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

export function serviceClient(opts: {
  /** The callee's GraphQL URL (its internal endpoints share the origin). */
  baseUrl: string;
  /** Which service the calls are addressed to. */
  audience: ServiceName;
  credential: ServiceCredential;
  timeoutMs?: number;
  /**
   * For the request path: a callee that is down or failing (no answer, a 5xx) throws
   * SERVICE_UNAVAILABLE naming it so (`"<unavailableAs> is unavailable right now; retry…"`), a
   * typed error with a retry hint, rather than a ServiceCallError. Without it (workers, which
   * retry any failure) the ServiceCallError is thrown as it is.
   */
  unavailableAs?: string;
}) {
  const origin = new URL(opts.baseUrl).origin;
  const send = async <R extends z.ZodType>(path: string, body: unknown, response: R, tenantId: string | null, trace: Record<string, string> = {}): Promise<z.infer<R>> => {
    const res = await fetch(new URL(path, origin), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SERVICE_HEADER]: opts.credential.token(opts.audience, tenantId), ...trace },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    }).catch((err: unknown) => {
      throw new ServiceCallError(0, `${origin}${path} is unreachable: ${(err as Error).message}`);
    });
    if (!res.ok) throw new ServiceCallError(res.status, `${origin}${path} answered ${res.status}`);
    return response.parse(await res.json()) as z.infer<R>;
  };
  const tracedSend = <R extends z.ZodType>(path: string, body: unknown, response: R, tenantId: string | null): Promise<z.infer<R>> => {
    const url = new URL(path, origin);
    const attributes = { 'http.request.method': 'POST', 'server.address': url.hostname, 'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80), 'url.full': `${url.origin}${url.pathname}`, 'lectern.service': opts.audience };
    return inSpan('POST', { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await send(path, body, response, tenantId, traceHeaders());
      } catch (err) {
        if (err instanceof ServiceCallError && err.status) span.setAttribute('http.response.status_code', err.status);
        throw err;
      }
    });
  };
  return async function call<R extends z.ZodType>(path: string, body: unknown, response: R, tenantId: string | null = null): Promise<z.infer<R>> {
    try {
      return await (isTracing() && activeSpan() ? tracedSend(path, body, response, tenantId) : send(path, body, response, tenantId));
    } catch (err) {
      if (opts.unavailableAs && err instanceof ServiceCallError && err.unavailable) throw serviceUnavailable(opts.unavailableAs);
      throw err;
    }
  };
}
export type ServiceClient = ReturnType<typeof serviceClient>;
