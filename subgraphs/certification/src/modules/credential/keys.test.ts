// Issuer keys: did:key shape, and the sealing that keeps a private key unusable outside its
// organization and without the deployment secret.
import { describe, expect, it } from 'vitest';
import { assertIssuerKey, generateIssuerKey, openSecret, sealSecret } from './keys.ts';

const SECRET = 'correct horse battery staple, but longer';
const OPEN_FAILED = "the issuer key cannot be opened: wrong CERTIFICATION_SECRET or another organization's key";

describe('generateIssuerKey', () => {
  it('derives the did:key DID and verification method from the Ed25519 public key', async () => {
    const key = await generateIssuerKey();
    expect(key.publicKeyMultibase).toMatch(/^z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
    expect(key.did).toBe(`did:key:${key.publicKeyMultibase}`);
    expect(key.verificationMethod).toBe(`${key.did}#${key.publicKeyMultibase}`);
    expect(key.secretKeyMultibase).toMatch(/^z[1-9A-HJ-NP-Za-km-z]+$/);
    expect(() => assertIssuerKey(key)).not.toThrow();
    const other = await generateIssuerKey();
    expect(other.did).not.toBe(key.did);
  });

  it('refuses a key whose parts disagree', async () => {
    const key = await generateIssuerKey();
    const other = await generateIssuerKey();
    expect(() => assertIssuerKey({ ...key, did: other.did })).toThrow(/inconsistent/);
    expect(() => assertIssuerKey({ ...key, verificationMethod: other.verificationMethod })).toThrow(/inconsistent/);
  });
});

describe('sealSecret / openSecret', () => {
  it('round-trips, with the documented layout and a fresh IV each time', async () => {
    const { secretKeyMultibase } = await generateIssuerKey();
    const sealed = sealSecret(secretKeyMultibase, SECRET, 'tenant-a');
    expect(sealed[0]).toBe(1);
    expect(sealed.length).toBe(1 + 12 + 16 + Buffer.byteLength(secretKeyMultibase));
    expect(sealed.includes(Buffer.from(secretKeyMultibase))).toBe(false);
    expect(openSecret(sealed, SECRET, 'tenant-a')).toBe(secretKeyMultibase);
    const again = sealSecret(secretKeyMultibase, SECRET, 'tenant-a');
    expect(again.subarray(1, 13).equals(sealed.subarray(1, 13))).toBe(false);
    expect(openSecret(again, SECRET, 'tenant-a')).toBe(secretKeyMultibase);
  });

  it('fails with the documented message for a wrong secret or another organization', () => {
    const sealed = sealSecret('zSecretValue', SECRET, 'tenant-a');
    expect(() => openSecret(sealed, `${SECRET}!`, 'tenant-a')).toThrow(OPEN_FAILED);
    expect(() => openSecret(sealed, SECRET, 'tenant-b')).toThrow(OPEN_FAILED);
  });

  it('fails when any byte was altered or the value was cut short', () => {
    const sealed = sealSecret('zSecretValue', SECRET, 'tenant-a');
    // One byte in each region: version, IV, tag, ciphertext.
    for (const position of [0, 5, 20, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[position] = (altered[position] ?? 0) ^ 0x01;
      expect(() => openSecret(altered, SECRET, 'tenant-a')).toThrow(OPEN_FAILED);
    }
    expect(() => openSecret(sealed.subarray(0, 29), SECRET, 'tenant-a')).toThrow(OPEN_FAILED);
    expect(() => openSecret(Buffer.alloc(0), SECRET, 'tenant-a')).toThrow(OPEN_FAILED);
  });

  it('refuses an empty master secret or tenant (a configuration error, not a wrong key)', () => {
    expect(() => sealSecret('z', '', 'tenant-a')).toThrow(TypeError);
    expect(() => sealSecret('z', SECRET, '')).toThrow(TypeError);
  });
});
