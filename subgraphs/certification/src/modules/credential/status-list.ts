// Revocation through a W3C Bitstring Status List: each credential names one bit (its index)
// in a list credential that the platform publishes; setting the bit revokes the credential.
//
// Privacy: a verifier fetches the whole list, not "is credential X revoked?", so the issuer
// does not learn which credential is being checked. That only holds when a list covers many
// credentials (the spec's minimum is 131072 bits, 16 KiB) and when indexes do not reveal issue
// order: handing out 0, 1, 2… would let anyone date a credential and spot its neighbours.
// `statusIndex` therefore maps the n-th slot of a list through a random affine bijection, so
// consecutive slots land far apart.
import { randomInt } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as statusListLib from '@digitalbazaar/vc-bitstring-status-list';
import { signCredential, type SignedCredential } from './credential.ts';
import type { IssuerKey } from './keys.ts';

export const STATUS_LIST_SIZE = 131072;
const LIST_BYTES = STATUS_LIST_SIZE / 8;
// Lists larger than ours exist elsewhere; nothing legitimate comes near 1 MiB (8M entries).
const MAX_DECODED_BYTES = 1 << 20;

export function emptyStatusList(): Uint8Array {
  return new Uint8Array(LIST_BYTES);
}

function bitPosition(bits: Uint8Array, index: number): { byte: number; mask: number } {
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) {
    throw new RangeError(`status index ${index} is outside the list (0..${bits.length * 8 - 1})`);
  }
  // The spec numbers bits from the left: index 0 is the most significant bit of byte 0.
  return { byte: index >> 3, mask: 0x80 >> (index & 7) };
}

export function setStatus(bits: Uint8Array, index: number, revoked: boolean): void {
  const { byte, mask } = bitPosition(bits, index);
  bits[byte] = revoked ? (bits[byte] ?? 0) | mask : (bits[byte] ?? 0) & ~mask;
}

export function isRevoked(bits: Uint8Array, index: number): boolean {
  const { byte, mask } = bitPosition(bits, index);
  return ((bits[byte] ?? 0) & mask) !== 0;
}

/**
 * The list index of the `slot`-th credential of a list: (slot × multiplier + offset) mod SIZE.
 * SIZE is a power of two, so any odd multiplier makes this a bijection of 0..SIZE-1: slots
 * never collide and every index gets used.
 */
export function statusIndex(slot: number, multiplier: number, offset: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= STATUS_LIST_SIZE) throw new RangeError(`slot must be an integer in 0..${STATUS_LIST_SIZE - 1}`);
  if (!Number.isInteger(multiplier) || multiplier <= 0 || multiplier >= STATUS_LIST_SIZE || multiplier % 2 === 0) {
    throw new RangeError(`multiplier must be an odd integer in 1..${STATUS_LIST_SIZE - 1}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset >= STATUS_LIST_SIZE) throw new RangeError(`offset must be an integer in 0..${STATUS_LIST_SIZE - 1}`);
  // slot × multiplier < 2^34: exact in a double.
  return (slot * multiplier + offset) % STATUS_LIST_SIZE;
}

/**
 * Parameters for a new list. The multiplier is odd and kept within the middle three quarters
 * of the range, so consecutive slots land at least SIZE/8 (16384) indexes apart, in either
 * direction around the list.
 */
export function randomListParameters(): { multiplier: number; offset: number } {
  const multiplier = 2 * randomInt(STATUS_LIST_SIZE / 16, (7 * STATUS_LIST_SIZE) / 16) + 1;
  return { multiplier, offset: randomInt(0, STATUS_LIST_SIZE) };
}

/**
 * The BitstringStatusListCredential published at `url`, signed by the issuer key. It carries
 * no validFrom: `proof.created` says when it was signed, and a validFrom would make verifiers
 * with a slow clock reject a freshly re-signed list.
 */
export async function signStatusListCredential(params: {
  url: string;
  bits: Uint8Array;
  key: IssuerKey;
  now?: Date;
}): Promise<SignedCredential> {
  const { url, bits, key, now } = params;
  if (bits.length !== LIST_BYTES) throw new RangeError(`a status list has ${STATUS_LIST_SIZE} bits (${LIST_BYTES} bytes), got ${bits.length} bytes`);
  try {
    new URL(url);
  } catch {
    throw new TypeError(`the status list URL must be an absolute URL: ${url}`);
  }
  // A copy: the library wraps `buffer.buffer`, which for a view into a larger buffer would
  // encode the wrong bytes.
  const list = new statusListLib.BitstringStatusList({ buffer: Uint8Array.from(bits) });
  // The library's encoder: GZIP, then base64url, with the multibase 'u' prefix.
  const credential = await statusListLib.createCredential({ id: url, list, statusPurpose: 'revocation' });
  return signCredential({ ...credential, issuer: key.did }, key, now ? { now } : {});
}

/**
 * The bits of a BitstringStatusListCredential (multibase 'u' + base64url of the GZIP-compressed
 * bitstring). Synchronous, unlike the library's decoder; the tests check that both agree.
 * Throws when the credential does not carry a readable list.
 */
export function decodeStatusList(credential: object): Uint8Array {
  const subject = (credential as { credentialSubject?: unknown }).credentialSubject;
  const encodedList = typeof subject === 'object' && subject !== null ? (subject as { encodedList?: unknown }).encodedList : undefined;
  if (typeof encodedList !== 'string' || !encodedList.startsWith('u')) {
    throw new Error('not a status list credential: credentialSubject.encodedList is missing or not multibase base64url');
  }
  try {
    // Bounded: a tiny encoded list could otherwise inflate to gigabytes.
    return new Uint8Array(gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'), { maxOutputLength: MAX_DECODED_BYTES }));
  } catch (cause) {
    throw new Error('the status list cannot be decoded', { cause });
  }
}
