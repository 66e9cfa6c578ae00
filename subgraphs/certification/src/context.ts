// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext, SubgraphDeps } from '@lectern/kernel/subgraph';
import { viewerOf, type Viewer } from './access.ts';
import type { CertificationEnv } from './env.ts';
import { createLoaders, type CertificationLoaders } from './loaders.ts';
import { CertificateService } from './modules/certificate/certificate.service.ts';
import type { CertificateUrls } from './modules/delivery/urls.ts';
import type { Verifier } from './modules/verification/verifier.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  viewer: Viewer;
  loaders: CertificationLoaders;
  certificates: CertificateService;
  urls: CertificateUrls;
  verifier: Verifier;
  /** Gives a certificate back to the worker (retryCertificate). */
  retry: (tenantId: string, certificateId: string) => Promise<void>;
};

export function createContext(base: SubgraphContext, _deps: SubgraphDeps<CertificationEnv>, rt: SubgraphRuntime): Context {
  const viewer = viewerOf(base.actor);
  const loaders = createLoaders(base.uow, base.actor.tenantId, viewer);
  return {
    ...base,
    viewer,
    loaders,
    urls: rt.urls,
    verifier: rt.verifier,
    retry: rt.retry,
    certificates: new CertificateService({
      actor: base.actor,
      uow: base.uow,
      loaders,
      directory: rt.directory,
      issuer: rt.issuer,
      evaluate: rt.evaluate,
      origin: () => rt.urls.origin,
      log: base.log,
    }),
  };
}
