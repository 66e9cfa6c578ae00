// Certification's process-wide pieces (the request path), built once at start (the
// definition's `runtime`): the public URLs, the verifier, the directory of identity and
// catalog, the producer of issue-certificate jobs, and what evaluating a completion needs
// (a rule changed with includePastCompletions evaluates past completions in the request).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { requestQueues } from '@lectern/kernel/queues';
import { TokenBucket } from '@lectern/kernel/rate-limit';
import { jobQueueName } from '@lectern/kernel/worker';
import { CERTIFICATION } from '@lectern/contracts/certification';
import { createStorage, storageConfig, type ObjectStorage } from '@lectern/storage';
import { certificationSecret, type CertificationEnv } from './env.ts';
import type { IssuerKey } from './modules/credential/keys.ts';
import { CertificateUrls } from './modules/delivery/urls.ts';
import type { EvaluateDeps } from './modules/issuance/evaluate.ts';
import { generateProducer, type Generate } from './modules/issuance/issue.job.ts';
import { ensureIssuer } from './modules/issuer/issuer.ts';
import { directory, type Directory } from './modules/people/directory.ts';
import { Verifier } from './modules/verification/verifier.ts';

export interface SubgraphRuntime {
  storage: ObjectStorage;
  urls: CertificateUrls;
  verifier: Verifier;
  directory: Directory;
  issuer(em: EntityManager, tenantId: string): Promise<IssuerKey>;
  evaluate: EvaluateDeps;
  retry: Generate;
  /** The public origin (server.ts fills in the listening address when CERTIFICATION_PUBLIC_URL is unset). */
  origin: { value: string };
  close(): Promise<void>;
}

/**
 * The public origin: CERTIFICATION_PUBLIC_URL, else http://HOST:PORT (a developer machine). Refused
 * unset on every interface (its URLs would not reach this process), and, for the worker
 * (`required`), unset with PORT 0: it prints these URLs into credentials, and has no address of
 * the subgraph's to fall back on (the subgraph itself fills in its listening address).
 */
export function publicOrigin(env: CertificationEnv, opts: { required: boolean }): { value: string } {
  const why = 'it is the origin of the verification pages, status lists and PDF downloads (e.g. https://lectern.example.com), printed in every certificate';
  if (!env.CERTIFICATION_PUBLIC_URL && ['0.0.0.0', '::', ''].includes(env.HOST)) throw new Error(`CERTIFICATION_PUBLIC_URL must be set when HOST is ${env.HOST || 'empty'}: ${why}`);
  const value = env.CERTIFICATION_PUBLIC_URL ?? (env.PORT ? `http://${env.HOST}:${env.PORT}` : '');
  if (!value && opts.required) throw new Error(`CERTIFICATION_PUBLIC_URL must be set when PORT is 0: ${why}`);
  return { value };
}

export function createSubgraphRuntime({ env, orm, redis, log }: SubgraphDeps<CertificationEnv>): SubgraphRuntime {
  // What may refuse the start comes before what opens connections.
  const secret = certificationSecret(env);
  const origin = publicOrigin(env, { required: false });
  const urls = new CertificateUrls(secret, () => origin.value, env.CERTIFICATE_URL_TTL_SECONDS);
  const storage = createStorage(storageConfig(env));
  const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
  const generate = generateProducer(queues(jobQueueName(CERTIFICATION)), log);
  const dir = directory(env, { unavailable: true });
  const issuer = (em: EntityManager, tenantId: string) => ensureIssuer(em, tenantId, secret);
  return {
    origin,
    storage,
    urls,
    verifier: new Verifier(orm, new TokenBucket(redis, { prefix: `${env.REDIS_PREFIX}certification:verify:`, perMinute: env.VERIFY_RATE_PER_MINUTE, burst: env.VERIFY_BURST }), log),
    directory: dir,
    issuer,
    evaluate: { directory: dir, issuer, origin: () => urls.origin, generate },
    // A retry takes its own job id: the failed job keeps the certificate's first one in BullMQ.
    retry: (tenantId, certificateId) => generate(tenantId, certificateId, `retry${Date.now()}`),
    async close() {
      await close();
      await storage.close();
    },
  };
}
