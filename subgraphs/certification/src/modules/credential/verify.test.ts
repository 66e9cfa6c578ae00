// Verification: the verdicts and their precedence, the one-character tamper sweep over a
// signed credential, JSON-LD safe mode (proved necessary, not assumed), revocation through the
// issuer's own status list only, hostile and garbage input, and timing figures.
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { cryptosuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAchievementCredential, signCredential, type SignedCredential } from './credential.ts';
import { AWARDED_AT, SIGNED_AT, STATUS_URL, memoryDeps, sampleInput, seededIssuerKey } from './fixtures.ts';
import type { IssuerKey } from './keys.ts';
import { documentLoader } from './loader.ts';
import { emptyStatusList, setStatus, signStatusListCredential } from './status-list.ts';
import { verifyAchievementCredential, verifyOffline, type CredentialVerification, type VerificationDeps } from './verify.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const INDEX = 90210;

let keyA: IssuerKey;
let keyB: IssuerKey;
let signed: SignedCredential;
let list: SignedCredential;
let revokedList: SignedCredential;
let deps: VerificationDeps;

async function issue(overrides: Parameters<typeof sampleInput>[1] = {}, key: IssuerKey = keyA): Promise<SignedCredential> {
  return signCredential(buildAchievementCredential(sampleInput(key, overrides)), key, { now: SIGNED_AT });
}

function check(result: CredentialVerification, name: string): { passed: boolean | null; detail: string } | undefined {
  return result.checks.find((c) => c.name === name);
}

beforeAll(async () => {
  keyA = await seededIssuerKey(1);
  keyB = await seededIssuerKey(2);
  signed = await issue();
  list = await signStatusListCredential({ url: STATUS_URL, bits: emptyStatusList(), key: keyA, now: SIGNED_AT });
  const bits = emptyStatusList();
  setStatus(bits, INDEX, true);
  revokedList = await signStatusListCredential({ url: STATUS_URL, bits, key: keyA, now: SIGNED_AT });
  deps = memoryDeps({ lists: { [STATUS_URL]: list }, issuers: { [keyA.did]: 'Acme Academy (renamed)' }, now: NOW });
});

describe('a genuine credential', () => {
  it('is VALID, with every check passed', async () => {
    const result = await verifyAchievementCredential(signed, deps);
    expect(result).toMatchObject({
      status: 'VALID',
      reasons: [],
      credentialId: 'urn:uuid:3f2c8a4e-9b1d-4c6e-8a7f-0d5e2b1c4a93',
      issuer: { id: keyA.did, name: 'Acme Academy (renamed)' },
      achievementName: 'Introduction to Data Ethics',
      validFrom: '2026-03-02T09:30:00Z',
      validUntil: null,
    });
    expect(result.checks.map((c) => [c.name, c.passed])).toEqual([
      ['FORMAT', true],
      ['PROOF', true],
      ['ISSUER', true],
      ['STATUS', true],
      ['VALIDITY_PERIOD', true],
    ]);
  });

  it('is VALID as JSON text too', async () => {
    expect((await verifyAchievementCredential(JSON.stringify(signed), deps)).status).toBe('VALID');
  });

  it("verifies offline with the libraries' own verifier, with and without the status list", async () => {
    expect(await verifyOffline(signed, list)).toEqual({ verified: true, revoked: false, errors: [] });
    expect(await verifyOffline(signed)).toEqual({ verified: true, revoked: null, errors: [] });
  });

  it('stays VALID when the status list is unknown, saying that status could not be checked', async () => {
    const result = await verifyAchievementCredential(signed, memoryDeps({ issuers: { [keyA.did]: 'Acme Academy' }, now: NOW }));
    expect(result.status).toBe('VALID');
    expect(check(result, 'STATUS')?.passed).toBeNull();
    expect(result.reasons).toEqual([`its revocation status cannot be checked: the status list ${STATUS_URL} is not known here`]);
  });
});

/** Offsets of every character inside a JSON string literal (keys and values). */
function stringCharacterOffsets(text: string): number[] {
  const offsets: number[] = [];
  let inside = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (!inside) {
      if (ch === '"') inside = true;
    } else if (ch === '\\') {
      i += 1;
    } else if (ch === '"') {
      inside = false;
    } else {
      offsets.push(i);
    }
  }
  return offsets;
}

/** A different character that keeps the JSON valid (never a quote or a backslash). */
function replacement(ch: string): string {
  if (ch >= '0' && ch <= '8') return String.fromCharCode(ch.charCodeAt(0) + 1);
  if (ch === '9') return '0';
  if ((ch >= 'a' && ch < 'z') || (ch >= 'A' && ch < 'Z')) return String.fromCharCode(ch.charCodeAt(0) + 1);
  if (ch === 'z') return 'a';
  if (ch === 'Z') return 'A';
  return 'x';
}

describe('changing one character', () => {
  it('never leaves a VALID credential, wherever it lands (names, dates, ids, hash, proof, status, contexts, keys)', async () => {
    const text = JSON.stringify(signed);
    const offsets = stringCharacterOffsets(text);
    // Evenly spread over every character inside strings…
    const picks = new Set<number>();
    const spread = 48;
    const step = Math.floor(offsets.length / spread);
    for (let k = 0; k < spread; k += 1) picks.add(offsets[k * step + Math.floor(step / 2)] as number);
    // …plus the middle of each value or property name that matters most.
    const proof = signed.proof[0] as { proofValue: string; created: string };
    const targets = [
      '"@context"',
      'https://www.w3.org/ns/credentials/v2',
      'context-3.0.3.json',
      'v3p0/extensions.json',
      'urn:uuid:3f2c8a4e',
      'OpenBadgeCredential',
      '"Acme Academy"',
      'https://acme.example',
      '"validFrom"',
      '2026-03-02T09:30:00Z',
      '"awardedDate"',
      '"Introduction to Data Ethics"',
      '"identityHash"',
      (signed.credentialSubject.identifier as { identityHash: string }[])[0]?.identityHash ?? '',
      '"emailAddress"',
      '"salt"',
      '"achievementType"',
      '"Certificate"',
      'courses/7c1e/achievement',
      '"narrative"',
      `"${INDEX}"`,
      '"statusListCredential"',
      '"revocation"',
      '1EdTechJsonSchemaValidator2019',
      keyA.publicKeyMultibase,
      `#${keyA.publicKeyMultibase}`,
      '"DataIntegrityProof"',
      '"assertionMethod"',
      proof.created,
      proof.proofValue,
    ];
    for (const target of targets) {
      const at = text.indexOf(target);
      expect(at, target).toBeGreaterThanOrEqual(0);
      picks.add(at + Math.floor(target.length / 2));
    }
    expect(picks.size).toBeGreaterThanOrEqual(40);

    const accepted: string[] = [];
    let checked = 0;
    for (const offset of [...picks].sort((a, b) => a - b)) {
      const original = text[offset] as string;
      const variant = text.slice(0, offset) + replacement(original) + text.slice(offset + 1);
      let parsed: object;
      try {
        parsed = JSON.parse(variant) as object;
      } catch {
        continue;
      }
      checked += 1;
      const verdict = await verifyAchievementCredential(variant, deps);
      const offline = await verifyOffline(parsed, list);
      if (!['TAMPERED', 'INVALID'].includes(verdict.status) || offline.verified) {
        accepted.push(`offset ${offset} '${original}'→'${replacement(original)}' near ${JSON.stringify(text.slice(offset - 20, offset + 20))}: ${verdict.status}, offline ${offline.verified}`);
      }
    }
    expect(accepted).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(40);
  });
});

describe('JSON-LD safe mode', () => {
  const withGrade = (credential: SignedCredential): SignedCredential => {
    const changed = structuredClone(credential);
    (changed.credentialSubject.achievement as Record<string, unknown>).grade = 'A+';
    return changed;
  };

  it('is what makes an added, undefined property fail: without it the signed data would be unchanged', async () => {
    const canonize = (cryptosuite as { canonize(input: object, options: object): Promise<string> }).canonize;
    const unsigned = (c: SignedCredential): Record<string, unknown> => {
      const copy: Record<string, unknown> = structuredClone(c);
      delete copy.proof;
      return copy;
    };
    // Unsafe canonicalization silently drops `grade`: same N-Quads, so the old proof would pass.
    const unsafeOriginal = await canonize(unsigned(signed), { documentLoader, safe: false });
    const unsafeChanged = await canonize(unsigned(withGrade(signed)), { documentLoader, safe: false });
    expect(unsafeChanged).toBe(unsafeOriginal);
    // The cryptosuite canonicalizes in safe mode by default, which refuses it.
    await expect(canonize(unsigned(withGrade(signed)), { documentLoader })).rejects.toThrow(/Safe mode validation error/);
  });

  it('turns an added property, or a renamed one, into TAMPERED', async () => {
    const added = await verifyAchievementCredential(withGrade(signed), deps);
    expect(added.status).toBe('TAMPERED');
    expect(added.reasons[0]).toMatch(/^the credential was changed after it was signed: .*Safe mode validation error.*grade/);
    expect((await verifyOffline(withGrade(signed), list)).verified).toBe(false);

    const renamed = structuredClone(signed) as unknown as { credentialSubject: { achievement: Record<string, unknown> } };
    renamed.credentialSubject.achievement.title = renamed.credentialSubject.achievement.name;
    delete renamed.credentialSubject.achievement.name;
    expect((await verifyAchievementCredential(renamed, deps)).status).toBe('TAMPERED');
  });
});

describe('what Lectern does not trust', () => {
  it('a proof by a key that is not the issuer’s did:key: TAMPERED', async () => {
    // Names issuer A, signed by B (bypassing signCredential, which refuses to do this).
    const keyPairB = await Ed25519Multikey.from({
      type: 'Multikey',
      id: keyB.verificationMethod,
      controller: keyB.did,
      publicKeyMultibase: keyB.publicKeyMultibase,
      secretKeyMultibase: keyB.secretKeyMultibase,
    });
    const forged = (await vc.issue({
      credential: buildAchievementCredential(sampleInput(keyA)),
      suite: new DataIntegrityProof({ signer: keyPairB.signer(), cryptosuite }),
      documentLoader,
    })) as SignedCredential;
    const result = await verifyAchievementCredential(forged, deps);
    expect(result.status).toBe('TAMPERED');
    expect(result.reasons[0]).toMatch(/issuer must match the verification method controller/);
  });

  it('an embedded or unknown @context: TAMPERED, without fetching anything', async () => {
    const inline = { ...structuredClone(signed), '@context': [...signed['@context'], { grade: 'https://example.org/grade' }] };
    expect((await verifyAchievementCredential(inline, deps)).reasons[0]).toMatch(/embeds a context definition/);
    const unknown = { ...structuredClone(signed), '@context': [...signed['@context'], 'https://attacker.example/context.json'] };
    const result = await verifyAchievementCredential(unknown, deps);
    expect(result.status).toBe('TAMPERED');
    expect(result.reasons[0]).toMatch(/attacker\.example.*not one of the published contexts/);
  });

  it('a Lectern credential with a different (even if processable) @context list: TAMPERED', async () => {
    const credential = buildAchievementCredential(sampleInput(keyA));
    credential['@context'] = [...credential['@context'], 'https://w3id.org/security/data-integrity/v2'];
    const resigned = await signCredential(credential, keyA, { now: SIGNED_AT });
    expect((await verifyOffline(resigned, list)).verified).toBe(true);
    const result = await verifyAchievementCredential(resigned, deps);
    expect(result.status).toBe('TAMPERED');
    expect(result.reasons[0]).toMatch(/not the one Lectern signs with/);
    // TAMPERED outranks INVALID; both are listed, the tampering first.
    const early = await verifyAchievementCredential(resigned, { ...deps, now: new Date('2026-01-01T00:00:00Z') });
    expect(early.status).toBe('TAMPERED');
    expect(early.reasons).toHaveLength(2);
    expect(early.reasons[1]).toBe('it is not valid before 2026-03-02T09:30:00Z');
  });

  it('a valid proof by an issuer that is not an organization here: INVALID', async () => {
    const foreign = await issue({}, keyB);
    expect((await verifyOffline(foreign)).verified).toBe(true);
    const result = await verifyAchievementCredential(foreign, deps);
    expect(result.status).toBe('INVALID');
    expect(result.reasons).toContain(`signed by ${keyB.did}, which is not an organization on this Lectern`);
    expect(result.issuer).toEqual({ id: keyB.did, name: 'Acme Academy' });
  });

  it('a non-did:key issuer: INVALID, unresolved', async () => {
    const result = await verifyAchievementCredential({ ...structuredClone(signed), issuer: { id: 'did:web:acme.example', type: ['Profile'], name: 'Acme' } }, deps);
    expect(result.status).toBe('INVALID');
    expect(check(result, 'PROOF')?.passed).toBeNull();
  });

  it('a status list signed by another key: not trusted (INVALID, with the reason)', async () => {
    const listByB = await signStatusListCredential({ url: STATUS_URL, bits: emptyStatusList(), key: keyB, now: SIGNED_AT });
    const result = await verifyAchievementCredential(signed, { ...deps, statusList: async () => listByB });
    expect(result.status).toBe('INVALID');
    expect(check(result, 'STATUS')?.passed).toBe(false);
    expect(result.reasons[0]).toMatch(/status list cannot be trusted: .*Issuers of the status list credential and verifiable credential do not match/);
    expect((await verifyOffline(signed, listByB)).verified).toBe(false);
  });

  it('a status list altered after signing (a revocation undone): not trusted', async () => {
    const undone = structuredClone(revokedList);
    undone.credentialSubject.encodedList = (list.credentialSubject as { encodedList: string }).encodedList;
    const result = await verifyAchievementCredential(signed, { ...deps, statusList: async () => undone });
    expect(result.status).toBe('INVALID');
    expect(result.reasons[0]).toMatch(/status list cannot be trusted/);
  });
});

describe('revocation and validity period', () => {
  it('a set bit in the re-signed list: REVOKED, and the library agrees', async () => {
    const result = await verifyAchievementCredential(signed, { ...deps, statusList: async () => revokedList });
    expect(result.status).toBe('REVOKED');
    expect(result.reasons).toEqual(['it was revoked by its issuer']);
    expect(await verifyOffline(signed, revokedList)).toEqual({
      verified: false,
      revoked: true,
      errors: ['the credential is revoked: its bit is set in the status list'],
    });
  });

  it('validUntil in the past: EXPIRED; revoked as well: REVOKED, both reasons, most important first', async () => {
    const expiring = await issue({ validUntil: new Date('2026-05-01T00:00:00Z') });
    const expired = await verifyAchievementCredential(expiring, deps);
    expect(expired.status).toBe('EXPIRED');
    expect(expired.reasons).toEqual(['it expired on 2026-05-01T00:00:00Z']);
    expect((await verifyAchievementCredential(expiring, { ...deps, now: new Date('2026-04-30T00:00:00Z') })).status).toBe('VALID');
    const both = await verifyAchievementCredential(expiring, { ...deps, statusList: async () => revokedList });
    expect(both.status).toBe('REVOKED');
    expect(both.reasons).toEqual(['it was revoked by its issuer', 'it expired on 2026-05-01T00:00:00Z']);
  });

  it('validFrom in the future: INVALID; INVALID outranks REVOKED', async () => {
    const early = { ...deps, now: new Date(AWARDED_AT.getTime() - 60 * 60 * 1000) };
    const result = await verifyAchievementCredential(signed, early);
    expect(result.status).toBe('INVALID');
    expect(result.reasons).toEqual(['it is not valid before 2026-03-02T09:30:00Z']);
    const alsoRevoked = await verifyAchievementCredential(signed, { ...early, statusList: async () => revokedList });
    expect(alsoRevoked.status).toBe('INVALID');
    expect(alsoRevoked.reasons).toEqual(['it is not valid before 2026-03-02T09:30:00Z', 'it was revoked by its issuer']);
  });
});

describe('garbage', () => {
  it('is INVALID with a reason, never an exception', async () => {
    const vc11 = {
      '@context': ['https://www.w3.org/2018/credentials/v1', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
      id: 'urn:uuid:1',
      type: ['VerifiableCredential', 'OpenBadgeCredential'],
      issuer: { id: keyA.did, type: ['Profile'], name: 'Acme' },
      issuanceDate: '2024-01-01T00:00:00Z',
      credentialSubject: { type: ['AchievementSubject'], achievement: { id: 'https://a.example', type: ['Achievement'], name: 'n', description: 'd', criteria: {} } },
      proof: { type: 'Ed25519Signature2020' },
    };
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const inputs: [string, unknown][] = [
      ['null', null],
      ['[]', []],
      ['"x"', 'x'],
      ['{}', {}],
      ['42', 42],
      ['undefined', undefined],
      ['JSON string literal', '"just text"'],
      ['VC 1.1 credential', vc11],
      ['1 MB string', 'x'.repeat(1024 * 1024)],
      ['deeply nested JSON', `${'['.repeat(20000)}${']'.repeat(20000)}`],
      ['circular object', circular],
      ['proof stripped', { ...structuredClone(signed), proof: undefined }],
    ];
    for (const [label, input] of inputs) {
      const result = await verifyAchievementCredential(input, deps);
      expect(result.status, label).toBe('INVALID');
      expect(result.reasons.length, label).toBeGreaterThan(0);
      expect(check(result, 'FORMAT')?.passed, label).toBe(false);
      const offline = await verifyOffline(input);
      expect(offline.verified, label).toBe(false);
    }
    const vc11Result = await verifyAchievementCredential(vc11, deps);
    expect(vc11Result.reasons[0]).toMatch(/Verifiable Credentials 1\.1/);
  });
});

describe('cost', () => {
  it('measures signing and verifying (median of 50 after warm-up)', async () => {
    const credential = buildAchievementCredential(sampleInput(keyA));
    const median = async (run: () => Promise<unknown>): Promise<number> => {
      for (let i = 0; i < 5; i += 1) await run();
      const times: number[] = [];
      for (let i = 0; i < 50; i += 1) {
        const start = performance.now();
        await run();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return ((times[24] as number) + (times[25] as number)) / 2;
    };
    const sign = await median(() => signCredential(credential, keyA, { now: SIGNED_AT }));
    const verify = await median(() => verifyAchievementCredential(signed, deps));
    const offline = await median(() => verifyOffline(signed, list));
    // eslint-disable-next-line no-console -- these figures are asked for in the module's report
    console.info(`credential timing (median of 50): sign ${sign.toFixed(1)} ms, verifyAchievementCredential ${verify.toFixed(1)} ms (proof + status list), verifyOffline ${offline.toFixed(1)} ms`);
    // Loose bounds: a regression by an order of magnitude should fail, a busy machine not.
    expect(sign).toBeLessThan(500);
    expect(verify).toBeLessThan(1000);
  });
});
