// The static document loader: every context a Lectern credential or status list needs is
// bundled, did:key DIDs resolve locally, and anything else is refused instead of fetched.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateIssuerKey } from './keys.ts';
import { documentLoader, documentLoaderWith, hasStaticDocument } from './loader.ts';
import { verifyOffline } from './verify.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('documentLoader', () => {
  it('serves the VC, OB 3.0, data-integrity, multikey and status list contexts from memory', async () => {
    const urls = [
      'https://www.w3.org/2018/credentials/v1',
      'https://www.w3.org/ns/credentials/v2',
      'https://purl.imsglobal.org/spec/ob/v3p0/context.json',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
      'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json',
      'https://w3id.org/security/data-integrity/v1',
      'https://w3id.org/security/data-integrity/v2',
      'https://w3id.org/security/multikey/v1',
      'https://www.w3.org/ns/credentials/status/v1',
    ];
    for (const url of urls) {
      expect(hasStaticDocument(url), url).toBe(true);
      const loaded = await documentLoader(url);
      expect(loaded.contextUrl).toBeNull();
      expect(loaded.documentUrl).toBe(url);
      expect(loaded.document).toHaveProperty('@context');
    }
  });

  it('hands out copies, so a processor cannot corrupt the shared context', async () => {
    const url = 'https://www.w3.org/ns/credentials/v2';
    const first = (await documentLoader(url)).document as Record<string, unknown>;
    first['@context'] = 'corrupted';
    expect((await documentLoader(url)).document).not.toHaveProperty('@context', 'corrupted');
  });

  it('resolves an Ed25519 did:key and its key fragment without the network', async () => {
    const key = await generateIssuerKey();
    const did = (await documentLoader(key.did)).document as { id: string; assertionMethod: string[] };
    expect(did.id).toBe(key.did);
    expect(did.assertionMethod).toEqual([key.verificationMethod]);
    const method = (await documentLoader(key.verificationMethod)).document as { id: string; publicKeyMultibase: string };
    expect(method).toMatchObject({ id: key.verificationMethod, publicKeyMultibase: key.publicKeyMultibase });
    await expect(documentLoader('did:key:zNotAKey')).rejects.toThrow(/cannot resolve did:key:zNotAKey/);
  });

  it('refuses everything else, never fetching', async () => {
    const fetchSpy = vi.fn(() => Promise.reject(new Error('network used')));
    vi.stubGlobal('fetch', fetchSpy);
    await expect(documentLoader('https://attacker.example/context.json')).rejects.toThrow('not available offline: https://attacker.example/context.json');
    await expect(documentLoader('did:web:acme.example')).rejects.toThrow('not available offline: did:web:acme.example');
    const result = await verifyOffline({
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://attacker.example/context.json'],
      id: 'urn:uuid:0',
      type: ['VerifiableCredential'],
      issuer: 'did:web:acme.example',
      credentialSubject: { id: 'urn:uuid:1' },
      proof: { type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022', verificationMethod: 'did:web:acme.example#key-1', proofPurpose: 'assertionMethod', proofValue: 'z1' },
    });
    expect(result.verified).toBe(false);
    expect(result.errors.join(' ')).toMatch(/not available offline/);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('serves extra documents at their URL when asked to', async () => {
    const loader = documentLoaderWith(new Map([['https://lectern.example/status/1', { id: 'https://lectern.example/status/1' }]]));
    expect((await loader('https://lectern.example/status/1')).document).toEqual({ id: 'https://lectern.example/status/1' });
    await expect(loader('https://lectern.example/status/2')).rejects.toThrow(/not available offline/);
  });
});
