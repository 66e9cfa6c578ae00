// Calls another context's internal endpoint as a signed `service` actor (workers that need
// facts events deliberately do not carry, such as an email address at send time).
import type { z } from 'zod';
import { anonymousActor, ACTOR_HEADER, type ActorSigner } from './actor.ts';

export class ServiceCallError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function serviceClient(opts: { baseUrl: string; signer: ActorSigner; timeoutMs?: number }) {
  const origin = new URL(opts.baseUrl).origin;
  return async function call<R extends z.ZodType>(path: string, body: unknown, response: R, tenantId: string | null = null): Promise<z.infer<R>> {
    const actor = { ...anonymousActor(), kind: 'service' as const, tenantId };
    const res = await fetch(new URL(path, origin), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [ACTOR_HEADER]: await opts.signer.sign(actor) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    }).catch((err: unknown) => {
      throw new ServiceCallError(0, `${origin}${path} is unreachable: ${(err as Error).message}`);
    });
    if (!res.ok) throw new ServiceCallError(res.status, `${origin}${path} answered ${res.status}`);
    return response.parse(await res.json()) as z.infer<R>;
  };
}
export type ServiceClient = ReturnType<typeof serviceClient>;
