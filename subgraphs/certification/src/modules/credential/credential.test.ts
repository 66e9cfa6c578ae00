// The issued credential: its exact JSON (OB 3.0 / VC 2.0 shape, only a hashed e-mail as
// personal data), input validation, deterministic signing, and conformance to 1EdTech's
// official AchievementCredential JSON schema (kept in test/data).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAchievementCredential, hashEmailIdentity, OB3_SCHEMA_URL, signCredential, type SignedCredential } from './credential.ts';
import { AWARDED_AT, SIGNED_AT, STATUS_URL, sampleInput, seededIssuerKey } from './fixtures.ts';
import type { IssuerKey } from './keys.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../../test/data/ob_v3p0_achievementcredential_schema.json', import.meta.url), 'utf8'),
) as object;

function schemaValidator(): (data: unknown) => { valid: boolean; errors: string } {
  // strictTuples off: 1EdTech's @context rule is a 2-item tuple followed by open-ended items,
  // which Ajv's strict mode flags as a possible mistake. The schema is theirs, kept verbatim.
  const ajv = new Ajv2019({ allErrors: true, strictTuples: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  return (data) => {
    const valid = validate(data);
    return { valid, errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ') };
  };
}

let key: IssuerKey;
beforeAll(async () => {
  key = await seededIssuerKey(1);
});

describe('buildAchievementCredential', () => {
  it('builds the OB 3.0 AchievementCredential, dates to the second, no validUntil when null', () => {
    const credential = buildAchievementCredential(sampleInput(key));
    expect(credential).toEqual({
      '@context': [
        'https://www.w3.org/ns/credentials/v2',
        'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
        'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json',
      ],
      id: 'urn:uuid:3f2c8a4e-9b1d-4c6e-8a7f-0d5e2b1c4a93',
      type: ['VerifiableCredential', 'OpenBadgeCredential'],
      issuer: { id: key.did, type: ['Profile'], name: 'Acme Academy', url: 'https://acme.example' },
      validFrom: '2026-03-02T09:30:00Z',
      awardedDate: '2026-03-02T09:30:00Z',
      name: 'Introduction to Data Ethics',
      credentialSubject: {
        type: ['AchievementSubject'],
        identifier: [
          {
            type: 'IdentityObject',
            identityHash: hashEmailIdentity('learner.one@example.com', 'b1946ac92492d2347c6235b4d2611184'),
            identityType: 'emailAddress',
            hashed: true,
            salt: 'b1946ac92492d2347c6235b4d2611184',
          },
        ],
        achievement: {
          id: 'https://lectern.example/catalog/courses/7c1e/achievement',
          type: ['Achievement'],
          achievementType: 'Certificate',
          name: 'Introduction to Data Ethics',
          description: 'Completed all lessons and passed the final assessment.',
          criteria: { narrative: 'Complete every lesson and score at least 80% on the final quiz.' },
        },
      },
      credentialStatus: {
        id: `${STATUS_URL}#90210`,
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: '90210',
        statusListCredential: STATUS_URL,
      },
      credentialSchema: [{ id: OB3_SCHEMA_URL, type: '1EdTechJsonSchemaValidator2019' }],
    });
  });

  it('adds validUntil when given and leaves out an empty issuer url', () => {
    const credential = buildAchievementCredential(
      sampleInput(key, { validUntil: new Date('2028-03-02T09:30:00.999Z'), issuer: { did: key.did, name: 'Acme Academy', url: null } }),
    );
    expect(credential.validUntil).toBe('2028-03-02T09:30:00Z');
    expect(credential.issuer).toEqual({ id: key.did, type: ['Profile'], name: 'Acme Academy' });
  });

  it('records the learner only as the salted SHA-256 of the normalized e-mail address', () => {
    const text = JSON.stringify(buildAchievementCredential(sampleInput(key)));
    expect(text.toLowerCase()).not.toContain('learner.one');
    const expected = createHash('sha256').update('learner.one@example.com' + 'b1946ac92492d2347c6235b4d2611184').digest('hex');
    expect(text).toContain(`"identityHash":"sha256$${expected}"`);
    // The worked example in 1EdTech's IdentityHash definition.
    expect(hashEmailIdentity('a@example.com', 'Kosher')).toBe('sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399');
    expect(hashEmailIdentity('  A@Example.COM ', 'Kosher')).toBe(hashEmailIdentity('a@example.com', 'Kosher'));
  });

  it('refuses input it cannot turn into a sound credential', () => {
    const bad: Parameters<typeof sampleInput>[1][] = [
      { credentialId: 'not-a-uuid' },
      { name: '  ' },
      { achievement: { id: 'ftp://files.example/a', name: 'n', description: 'd', criteria: 'c' } },
      { subject: { email: 'no-at-sign', salt: 's' } },
      { subject: { email: 'a@b.c', salt: '' } },
      { awardedAt: new Date('nonsense') },
      { validUntil: new Date('2026-03-01T00:00:00Z') },
      { status: { listCredentialUrl: STATUS_URL, index: 131072 } },
      { status: { listCredentialUrl: STATUS_URL, index: 1.5 } },
      { status: { listCredentialUrl: 'not a url', index: 1 } },
      { issuer: { did: 'did:web:acme.example', name: 'Acme' } },
    ];
    for (const overrides of bad) expect(() => buildAchievementCredential(sampleInput(key, overrides)), JSON.stringify(overrides)).toThrow(TypeError);
  });
});

describe('signCredential', () => {
  it('adds one eddsa-rdfc-2022 proof by the issuer key, created at `now`, deterministically', async () => {
    const credential = buildAchievementCredential(sampleInput(key));
    const first = await signCredential(credential, key, { now: SIGNED_AT });
    const second = await signCredential(credential, key, { now: SIGNED_AT });
    expect(second).toEqual(first);
    expect(first.proof).toEqual([
      {
        type: 'DataIntegrityProof',
        created: '2026-03-02T09:30:05Z',
        verificationMethod: key.verificationMethod,
        cryptosuite: 'eddsa-rdfc-2022',
        proofPurpose: 'assertionMethod',
        proofValue: expect.stringMatching(/^z[1-9A-HJ-NP-Za-km-z]{80,90}$/) as unknown as string,
      },
    ]);
    // The input is not modified.
    expect('proof' in credential).toBe(false);
    const later = await signCredential(credential, key, { now: new Date(SIGNED_AT.getTime() + 1000) });
    expect(later.proof[0]?.proofValue).not.toBe(first.proof[0]?.proofValue);
  });

  it('refuses to sign a credential that names another issuer', async () => {
    const other = await seededIssuerKey(2);
    const credential = buildAchievementCredential(sampleInput(other));
    await expect(signCredential(credential, key)).rejects.toThrow(/issuer/);
  });
});

describe('1EdTech OB 3.0 AchievementCredential JSON schema', () => {
  let signed: SignedCredential;
  let validate: ReturnType<typeof schemaValidator>;
  beforeAll(async () => {
    signed = await signCredential(buildAchievementCredential(sampleInput(key, { validUntil: new Date('2030-01-01T00:00:00Z') })), key, {
      now: SIGNED_AT,
    });
    validate = schemaValidator();
  });

  it('is the VC 2.0 flavour of the schema (validFrom required)', () => {
    expect((schema as { required: string[] }).required).toEqual(['@context', 'id', 'type', 'credentialSubject', 'issuer', 'validFrom']);
  });

  it('accepts the signed credential', () => {
    const result = validate(signed);
    expect(result.errors).toBe('');
    expect(result.valid).toBe(true);
    expect(AWARDED_AT.getTime()).toBeLessThan(SIGNED_AT.getTime());
  });

  it('rejects variants that break it (so the check above can fail)', () => {
    const withoutValidFrom: Record<string, unknown> = structuredClone(signed);
    delete withoutValidFrom.validFrom;
    expect(validate(withoutValidFrom).valid).toBe(false);
    expect(validate({ ...signed, proof: signed.proof[0] }).valid).toBe(false);
    const badIdentity = structuredClone(signed) as unknown as { credentialSubject: { identifier: { identityType: string }[] } };
    badIdentity.credentialSubject.identifier[0]!.identityType = 'shoeSize';
    expect(validate(badIdentity).valid).toBe(false);
  });
});
