// What learning asks catalog, through its internal endpoint as a signed `service` actor:
// the lessons of a published course version (immutable once published, so fetched once and
// kept as learning's own projection).
import { ActorSigner } from '@lectern/kernel/actor';
import { DEV_ACTOR_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import { serviceClient, type ServiceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse, type CourseStructure } from '@lectern/contracts/catalog';

export type VersionStructure = CourseStructure['versions'][number];

export interface CatalogClient {
  versions(tenantId: string, versionIds: string[]): Promise<VersionStructure[]>;
  /** The version learners see now; null when the course is not published (or unknown). */
  publishedVersionId(tenantId: string, courseId: string): Promise<string | null>;
}

export function catalogClient(env: { CATALOG_URL: string; ACTOR_SIGNING_KEY?: string | undefined; NODE_ENV: string }): CatalogClient {
  const jwk = requireKey(env.ACTOR_SIGNING_KEY, DEV_ACTOR_PRIVATE_KEY, 'ACTOR_SIGNING_KEY', env.NODE_ENV);
  let client: Promise<ServiceClient> | undefined;
  const call = async (body: { tenantId: string; versionIds?: string[]; courseIds?: string[] }) => {
    client ??= ActorSigner.fromJwk(jwk).then((signer) => serviceClient({ baseUrl: env.CATALOG_URL, signer }));
    return (await client)(COURSE_STRUCTURE_PATH, body, courseStructureResponse, body.tenantId);
  };
  return {
    versions: async (tenantId, versionIds) => (await call({ tenantId, versionIds })).versions,
    publishedVersionId: async (tenantId, courseId) => (await call({ tenantId, courseIds: [courseId] })).courses[0]?.publishedVersionId ?? null,
  };
}
