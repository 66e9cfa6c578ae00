// Test support for this module (imported by its *.test.ts only, never by production code):
// seeded issuer keys, so that a signed credential is the same bytes on every run (Ed25519 is
// deterministic), a sample credential input, and in-memory stand-ins for the database lookups
// that verification asks its caller for.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import type { AchievementCredentialInput } from './credential.ts';
import type { IssuerKey } from './keys.ts';
import type { VerificationDeps } from './verify.ts';

export const STATUS_URL = 'https://lectern.example/certification/status/org-1/1';
export const AWARDED_AT = new Date('2026-03-02T09:30:00.250Z');
export const SIGNED_AT = new Date('2026-03-02T09:30:05.900Z');

export async function seededIssuerKey(seed: number): Promise<IssuerKey> {
  const keyPair = await Ed25519Multikey.generate({ seed: new Uint8Array(32).fill(seed) });
  const { publicKeyMultibase, secretKeyMultibase } = await keyPair.export({ publicKey: true, secretKey: true, includeContext: false });
  if (!secretKeyMultibase) throw new Error('no secret key');
  const did = `did:key:${publicKeyMultibase}`;
  return { did, verificationMethod: `${did}#${publicKeyMultibase}`, publicKeyMultibase, secretKeyMultibase };
}

export function sampleInput(key: IssuerKey, overrides: Partial<AchievementCredentialInput> = {}): AchievementCredentialInput {
  return {
    credentialId: '3f2c8a4e-9b1d-4c6e-8a7f-0d5e2b1c4a93',
    name: 'Introduction to Data Ethics',
    issuer: { did: key.did, name: 'Acme Academy', url: 'https://acme.example' },
    achievement: {
      id: 'https://lectern.example/catalog/courses/7c1e/achievement',
      name: 'Introduction to Data Ethics',
      description: 'Completed all lessons and passed the final assessment.',
      criteria: 'Complete every lesson and score at least 80% on the final quiz.',
    },
    subject: { email: ' Learner.One@Example.com ', salt: 'b1946ac92492d2347c6235b4d2611184' },
    awardedAt: AWARDED_AT,
    validUntil: null,
    status: { listCredentialUrl: STATUS_URL, index: 90210 },
    ...overrides,
  };
}

/** Verification deps backed by maps: the status lists and organizations "in the database". */
export function memoryDeps(options: {
  lists?: Record<string, object>;
  issuers?: Record<string, string>;
  now?: Date;
}): VerificationDeps {
  return {
    ...(options.now ? { now: options.now } : {}),
    statusList: async (url) => options.lists?.[url] ?? null,
    issuer: async (did) => {
      const name = options.issuers?.[did];
      return name === undefined ? null : { name };
    },
  };
}
