// Status lists: our bit order agrees with the Bitstring Status List library (so its own
// checkStatus reads what we write), index assignment is a scattering bijection, and the signed
// list credential has the spec's shape and verifies with the VC library.
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import * as statusListLib from '@digitalbazaar/vc-bitstring-status-list';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAchievementCredential, signCredential } from './credential.ts';
import { SIGNED_AT, STATUS_URL, sampleInput, seededIssuerKey } from './fixtures.ts';
import type { IssuerKey } from './keys.ts';
import { documentLoader, documentLoaderWith } from './loader.ts';
import {
  decodeStatusList,
  emptyStatusList,
  isRevoked,
  randomListParameters,
  setStatus,
  signStatusListCredential,
  STATUS_LIST_SIZE,
  statusIndex,
} from './status-list.ts';

let key: IssuerKey;
beforeAll(async () => {
  key = await seededIssuerKey(1);
});

function circularDistance(a: number, b: number): number {
  const d = Math.abs(a - b);
  return Math.min(d, STATUS_LIST_SIZE - d);
}

describe('bits', () => {
  it('numbers bits from the left of the first byte, as the spec does', () => {
    const bits = emptyStatusList();
    expect(bits.length).toBe(16384);
    setStatus(bits, 0, true);
    setStatus(bits, 9, true);
    setStatus(bits, STATUS_LIST_SIZE - 1, true);
    expect(bits[0]).toBe(0x80);
    expect(bits[1]).toBe(0x40);
    expect(bits[16383]).toBe(0x01);
    expect(isRevoked(bits, 9)).toBe(true);
    expect(isRevoked(bits, 8)).toBe(false);
    setStatus(bits, 9, false);
    expect(isRevoked(bits, 9)).toBe(false);
    expect(bits[1]).toBe(0);
    expect(() => setStatus(bits, STATUS_LIST_SIZE, true)).toThrow(RangeError);
    expect(() => isRevoked(bits, -1)).toThrow(RangeError);
  });

  it('agrees with the library: its decoder and getStatus read back what we set', async () => {
    const bits = emptyStatusList();
    const set = [0, 7, 8, 90210, 131071];
    for (const index of set) setStatus(bits, index, true);
    const list = await signStatusListCredential({ url: STATUS_URL, bits, key, now: SIGNED_AT });
    const encodedList = (list.credentialSubject as { encodedList: string }).encodedList;
    const decoded = await statusListLib.BitstringStatusList.decode({ encodedList });
    for (const index of [...set, 1, 6, 9, 90209, 90211, 131070]) {
      expect(decoded.getStatus(index), `index ${index}`).toBe(set.includes(index));
    }
    expect(decodeStatusList(list)).toEqual(bits);
  });

  it("agrees with the library's checkStatus on a real credential", async () => {
    const bits = emptyStatusList();
    setStatus(bits, 90210, true);
    const list = await signStatusListCredential({ url: STATUS_URL, bits, key, now: SIGNED_AT });
    const statusOf = async (index: number): Promise<boolean | undefined> => {
      const credential = await signCredential(buildAchievementCredential(sampleInput(key, { status: { listCredentialUrl: STATUS_URL, index } })), key);
      const result = await statusListLib.checkStatus({
        credential,
        documentLoader: documentLoaderWith(new Map([[STATUS_URL, list]])),
        suite: new DataIntegrityProof({ cryptosuite }),
      });
      expect(result.verified).toBe(true);
      return result.results?.[0]?.status;
    };
    expect(await statusOf(90210)).toBe(true);
    expect(await statusOf(90211)).toBe(false);
  });

  it('refuses a bitstring of the wrong size and an undecodable list', async () => {
    await expect(signStatusListCredential({ url: STATUS_URL, bits: new Uint8Array(100), key })).rejects.toThrow(RangeError);
    expect(() => decodeStatusList({ credentialSubject: { encodedList: 'uNotGzip' } })).toThrow(/cannot be decoded/);
    expect(() => decodeStatusList({})).toThrow(/not a status list/);
  });
});

describe('statusIndex', () => {
  it('is a bijection of 0..SIZE-1 for every odd multiplier tried (all 131072 slots)', () => {
    const params = [{ multiplier: 1, offset: 0 }, { multiplier: 81007, offset: 12345 }, { multiplier: 131071, offset: 131071 }, randomListParameters()];
    for (const { multiplier, offset } of params) {
      const seen = new Uint8Array(STATUS_LIST_SIZE);
      for (let slot = 0; slot < STATUS_LIST_SIZE; slot += 1) {
        const index = statusIndex(slot, multiplier, offset);
        if (!Number.isInteger(index) || index < 0 || index >= STATUS_LIST_SIZE || seen[index]) {
          throw new Error(`slot ${slot} → ${index} is out of range or taken (multiplier ${multiplier}, offset ${offset})`);
        }
        seen[index] = 1;
      }
      expect(seen.every((v) => v === 1)).toBe(true);
    }
  });

  it('scatters slots 0, 1, 2 across the list with random parameters', () => {
    for (let draw = 0; draw < 200; draw += 1) {
      const { multiplier, offset } = randomListParameters();
      expect(multiplier % 2).toBe(1);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(STATUS_LIST_SIZE);
      const [a, b, c] = [0, 1, 2].map((slot) => statusIndex(slot, multiplier, offset)) as [number, number, number];
      expect(circularDistance(a, b)).toBeGreaterThanOrEqual(STATUS_LIST_SIZE / 8);
      expect(circularDistance(b, c)).toBeGreaterThanOrEqual(STATUS_LIST_SIZE / 8);
      expect(circularDistance(a, c)).toBeGreaterThan(0);
    }
  });

  it('refuses parameters that would not be a bijection', () => {
    expect(() => statusIndex(0, 2, 0)).toThrow(RangeError);
    expect(() => statusIndex(0, 0, 0)).toThrow(RangeError);
    expect(() => statusIndex(STATUS_LIST_SIZE, 3, 0)).toThrow(RangeError);
    expect(() => statusIndex(0, 3, -1)).toThrow(RangeError);
  });
});

describe('signStatusListCredential', () => {
  it('is a VC 2.0 BitstringStatusListCredential by the issuer that the VC library verifies', async () => {
    const list = await signStatusListCredential({ url: STATUS_URL, bits: emptyStatusList(), key, now: SIGNED_AT });
    expect(list['@context']).toEqual(['https://www.w3.org/ns/credentials/v2']);
    expect(list.id).toBe(STATUS_URL);
    expect(list.type).toEqual(['VerifiableCredential', 'BitstringStatusListCredential']);
    expect(list.issuer).toBe(key.did);
    expect(list.credentialSubject).toEqual({
      id: `${STATUS_URL}#list`,
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
      encodedList: expect.stringMatching(/^u[A-Za-z0-9_-]+$/) as unknown as string,
    });
    expect(list.proof[0]?.created).toBe('2026-03-02T09:30:05Z');
    const result = await vc.verifyCredential({ credential: list, suite: new DataIntegrityProof({ cryptosuite }), documentLoader });
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
  });
});
