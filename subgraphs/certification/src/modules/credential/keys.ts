// Issuer keys: one Ed25519 key per organization, named by a did:key DID, and the sealing of
// its private half for storage.
//
// Why did:key: the DID document is derived from the public key itself, so anyone can verify a
// credential offline for as long as they keep it, even if Lectern's domain is gone. Rotating a
// key means a new did:key for new credentials; old credentials keep verifying against theirs.
//
// The private key is stored in PostgreSQL sealed with AES-256-GCM under a key derived (HKDF)
// from the deployment's CERTIFICATION_SECRET *and the organization's id*: a database dump
// alone opens nothing, and a key sealed for organization A cannot be opened as B's (swapping
// rows between tenants fails authentication instead of signing with the wrong key).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

export interface IssuerKey {
  /** `did:key:<publicKeyMultibase>` */
  did: string;
  /** `<did>#<publicKeyMultibase>`: the verification method that proofs name. */
  verificationMethod: string;
  publicKeyMultibase: string;
  secretKeyMultibase: string;
}

export async function generateIssuerKey(): Promise<IssuerKey> {
  const keyPair = await Ed25519Multikey.generate();
  const { publicKeyMultibase, secretKeyMultibase } = await keyPair.export({
    publicKey: true,
    secretKey: true,
    includeContext: false,
  });
  if (!secretKeyMultibase) throw new Error('the Ed25519 library returned no secret key');
  const did = `did:key:${publicKeyMultibase}`;
  return { did, verificationMethod: `${did}#${publicKeyMultibase}`, publicKeyMultibase, secretKeyMultibase };
}

/** Throws when the parts of an IssuerKey disagree (e.g. rows mixed up): such a key would sign
 * credentials that never verify, so it is refused before it signs anything. */
export function assertIssuerKey(key: IssuerKey): void {
  const did = `did:key:${key.publicKeyMultibase}`;
  if (!key.publicKeyMultibase.startsWith('z6Mk') || key.did !== did || key.verificationMethod !== `${did}#${key.publicKeyMultibase}`) {
    throw new Error('the issuer key is inconsistent: its did and verificationMethod must derive from its Ed25519 public key');
  }
}

const SEAL_VERSION = 1;
const SALT = 'lectern-certification-issuer-key';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OPEN_FAILED = "the issuer key cannot be opened: wrong CERTIFICATION_SECRET or another organization's key";

function sealingKey(masterSecret: string, tenantId: string): Buffer {
  if (typeof masterSecret !== 'string' || masterSecret.length === 0) throw new TypeError('masterSecret must be a non-empty string');
  if (typeof tenantId !== 'string' || tenantId.length === 0) throw new TypeError('tenantId must be a non-empty string');
  return Buffer.from(hkdfSync('sha256', masterSecret, SALT, tenantId, 32));
}

/** Layout: 1 version byte (1) | 12-byte IV | 16-byte GCM tag | ciphertext. The version byte is
 * authenticated too (AAD), so it cannot be altered to steer a future format parser. */
export function sealSecret(secretKeyMultibase: string, masterSecret: string, tenantId: string): Buffer {
  const key = sealingKey(masterSecret, tenantId);
  const iv = randomBytes(IV_BYTES);
  const version = Buffer.from([SEAL_VERSION]);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(version);
  const ciphertext = Buffer.concat([cipher.update(secretKeyMultibase, 'utf8'), cipher.final()]);
  return Buffer.concat([version, iv, cipher.getAuthTag(), ciphertext]);
}

export function openSecret(sealed: Buffer, masterSecret: string, tenantId: string): string {
  const key = sealingKey(masterSecret, tenantId);
  try {
    if (sealed.length <= 1 + IV_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) throw new Error('not a sealed issuer key');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(sealed.subarray(0, 1));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new Error(OPEN_FAILED, { cause });
  }
}
