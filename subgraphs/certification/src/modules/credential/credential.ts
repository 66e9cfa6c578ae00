// Builds and signs the Open Badges 3.0 AchievementCredential Lectern issues when a learner
// completes a course: a W3C Verifiable Credential 2.0 with an Ed25519 Data Integrity proof
// (eddsa-rdfc-2022) by the organization's did:key, and a Bitstring Status List entry so the
// organization can revoke it later.
//
// Personal data: the learner appears only as a salted SHA-256 hash of their e-mail address
// (an OB 3.0 IdentityObject). That is what binds the credential to a person (whoever knows the
// address and the salt can check it) without publishing a name or an address in a document
// that is meant to be shared.
//
// @context: VC 2.0, OB 3.0.3 and the OB 3.0 extensions context. The extensions context is the
// one that defines the `1EdTechJsonSchemaValidator2019` credentialSchema type; without it,
// JSON-LD safe mode (which verification relies on to refuse undefined terms) rejects the
// credential. 1EdTech's own complete examples carry the same three contexts.
import { createHash } from 'node:crypto';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { cryptosuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import { assertIssuerKey, type IssuerKey } from './keys.ts';
import { documentLoader } from './loader.ts';

export const OB3_SCHEMA_URL = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json';
export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
export const VC_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1';
export const OB_CONTEXT = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json';
export const OB_EXTENSIONS_CONTEXT = 'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json';
/** The exact @context of every credential Lectern issues. */
export const ISSUED_CONTEXTS: readonly string[] = [VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT];

// Kept here (not imported from status-list.ts) so that status-list.ts can use signCredential
// without an import cycle.
const STATUS_INDEX_LIMIT = 131072;

export type JsonObject = { [key: string]: unknown };

/** A credential as JSON, before or after signing. */
export interface CredentialJson extends JsonObject {
  '@context': string[];
  id: string;
  type: string[];
  issuer: string | { id: string; [key: string]: unknown };
  credentialSubject: JsonObject;
}

export type UnsignedCredential = CredentialJson;

export interface DataIntegrityProofJson {
  type: 'DataIntegrityProof';
  created: string;
  verificationMethod: string;
  cryptosuite: 'eddsa-rdfc-2022';
  proofPurpose: 'assertionMethod';
  proofValue: string;
}

/** `proof` is always an array: OB 3.0's JSON serialization expresses every collection as an
 * array, and 1EdTech's JSON schema requires it (a one-element proof set is the same RDF). */
export interface SignedCredential extends CredentialJson {
  proof: DataIntegrityProofJson[];
}

export interface AchievementCredentialInput {
  /** A UUID; the credential id is `urn:uuid:<uuid>`. */
  credentialId: string;
  /** The credential's display name (the course title). */
  name: string;
  issuer: { did: string; name: string; url?: string | null };
  /** `id` is an https URL. */
  achievement: { id: string; name: string; description: string; criteria: string };
  /** The learner, recorded only as a salted hash of the e-mail address. */
  subject: { email: string; salt: string };
  /** Both `awardedDate` and `validFrom`. */
  awardedAt: Date;
  validUntil: Date | null;
  status: { listCredentialUrl: string; index: number };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ISO 8601 in UTC without milliseconds: the form VC examples and most verifiers expect. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** OB 3.0 IdentityHash of an e-mail address: `sha256$` + hex(SHA-256(address + salt)), with the
 * address trimmed and lower-cased so that the learner can reproduce it from what they type. */
export function hashEmailIdentity(email: string, salt: string): string {
  const normalized = email.trim().toLowerCase();
  return `sha256$${createHash('sha256').update(normalized + salt, 'utf8').digest('hex')}`;
}

function fail(message: string): never {
  throw new TypeError(`cannot build the credential: ${message}`);
}

function nonEmpty(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${what} must be a non-empty string`);
  return value;
}

function httpUrl(value: unknown, what: string, schemes: readonly string[]): string {
  const text = nonEmpty(value, what);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(`${what} must be an absolute URL`);
  }
  if (!schemes.includes(url.protocol)) fail(`${what} must be an ${schemes.join(' or ')} URL`);
  return text;
}

function validDate(value: unknown, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(`${what} must be a valid Date`);
  return value;
}

export function buildAchievementCredential(input: AchievementCredentialInput): UnsignedCredential {
  if (!UUID.test(input.credentialId)) fail('credentialId must be a UUID');
  const name = nonEmpty(input.name, 'name');
  const did = nonEmpty(input.issuer.did, 'issuer.did');
  if (!did.startsWith('did:key:')) fail('issuer.did must be a did:key DID');
  const issuerName = nonEmpty(input.issuer.name, 'issuer.name');
  const issuerUrl = input.issuer.url == null || input.issuer.url === '' ? null : httpUrl(input.issuer.url, 'issuer.url', ['https:', 'http:']);
  // A URL, or a urn:uuid: that names the course for good (a URL may stop resolving; an id must not change).
  const achievementId = httpUrl(input.achievement.id, 'achievement.id', ['https:', 'http:', 'urn:']);
  const achievementName = nonEmpty(input.achievement.name, 'achievement.name');
  if (typeof input.achievement.description !== 'string') fail('achievement.description must be a string');
  if (typeof input.achievement.criteria !== 'string') fail('achievement.criteria must be a string');
  const email = nonEmpty(input.subject.email, 'subject.email');
  if (!email.includes('@')) fail('subject.email must be an e-mail address');
  const salt = nonEmpty(input.subject.salt, 'subject.salt');
  const awardedAt = validDate(input.awardedAt, 'awardedAt');
  const validUntil = input.validUntil === null ? null : validDate(input.validUntil, 'validUntil');
  if (validUntil && validUntil.getTime() <= awardedAt.getTime()) fail('validUntil must be after awardedAt');
  const listUrl = httpUrl(input.status.listCredentialUrl, 'status.listCredentialUrl', ['https:', 'http:']);
  const index = input.status.index;
  if (!Number.isInteger(index) || index < 0 || index >= STATUS_INDEX_LIMIT) fail(`status.index must be an integer in 0..${STATUS_INDEX_LIMIT - 1}`);

  const awarded = isoSeconds(awardedAt);
  return {
    '@context': [...ISSUED_CONTEXTS],
    id: `urn:uuid:${input.credentialId.toLowerCase()}`,
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    issuer: { id: did, type: ['Profile'], name: issuerName, ...(issuerUrl ? { url: issuerUrl } : {}) },
    validFrom: awarded,
    ...(validUntil ? { validUntil: isoSeconds(validUntil) } : {}),
    awardedDate: awarded,
    name,
    credentialSubject: {
      type: ['AchievementSubject'],
      identifier: [
        {
          type: 'IdentityObject',
          identityHash: hashEmailIdentity(email, salt),
          identityType: 'emailAddress',
          hashed: true,
          salt,
        },
      ],
      achievement: {
        id: achievementId,
        type: ['Achievement'],
        achievementType: 'Certificate',
        name: achievementName,
        description: input.achievement.description,
        criteria: { narrative: input.achievement.criteria },
      },
    },
    credentialStatus: {
      id: `${listUrl}#${index}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: String(index),
      statusListCredential: listUrl,
    },
    credentialSchema: [{ id: OB3_SCHEMA_URL, type: '1EdTechJsonSchemaValidator2019' }],
  };
}

function issuerId(credential: object): unknown {
  const issuer = (credential as { issuer?: unknown }).issuer;
  return typeof issuer === 'object' && issuer !== null ? (issuer as { id?: unknown }).id : issuer;
}

/**
 * Signs with the issuer key. Ed25519 signatures are deterministic, so the same credential,
 * key and `now` give the same proof. `now` (default: the current time) becomes
 * `proof.created`, to the second.
 */
export async function signCredential(credential: object, key: IssuerKey, opts: { now?: Date } = {}): Promise<SignedCredential> {
  assertIssuerKey(key);
  // A credential naming another issuer would carry a proof that never verifies.
  if (issuerId(credential) !== key.did) throw new Error(`the credential's issuer is not ${key.did}, the DID of the signing key`);
  const now = opts.now ?? new Date();
  const keyPair = await Ed25519Multikey.from({
    type: 'Multikey',
    id: key.verificationMethod,
    controller: key.did,
    publicKeyMultibase: key.publicKeyMultibase,
    secretKeyMultibase: key.secretKeyMultibase,
  });
  const suite = new DataIntegrityProof({ signer: keyPair.signer(), date: now, cryptosuite });
  const signed = (await vc.issue({ credential: structuredClone(credential), suite, documentLoader, now })) as JsonObject;
  const proof = signed.proof;
  return { ...signed, proof: Array.isArray(proof) ? proof : [proof] } as SignedCredential;
}
