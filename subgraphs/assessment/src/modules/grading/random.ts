// Reproducible randomness for attempts: the server stores one seed per attempt and re-derives
// every shuffle and draw from it, so an attempt looks the same on every request and after a
// restart. Math.random cannot be replayed; a seeded PRNG (sfc32 keyed by sha256) can.
import { createHash, randomBytes } from 'node:crypto';

/** A source of numbers in [0, 1). */
export type Rng = () => number;

/** A fresh attempt seed: 32 hex characters (128 bits). */
export function newSeed(): string {
  return randomBytes(16).toString('hex');
}

/**
 * A generator for one use of a seed. The scope separates uses (question order, each draw, each
 * question's options) so that adding a question does not reshuffle the others.
 */
export function rngFrom(seed: string, ...scope: string[]): Rng {
  // NUL cannot occur in ids, so ('a', 'bc') and ('ab', 'c') give different keys.
  const digest = createHash('sha256').update([seed, ...scope].join('\u0000')).digest();
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12));
}

// sfc32 (Chris Doty-Humphrey's Small Fast Counter): tiny, fast and passes PractRand; quality
// far beyond what shuffling a handful of options needs.
function sfc32(a: number, b: number, c: number, d: number): Rng {
  let counter = d;
  const next = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs: a fresh sfc32 state is still correlated with its key.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Fisher–Yates shuffle into a new array. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** n distinct items (all of them when there are fewer), in the order drawn. */
export function sample<T>(items: readonly T[], n: number, rng: Rng): T[] {
  const pool = [...items];
  const take = Math.max(0, Math.min(Math.floor(n), pool.length));
  // A partial Fisher–Yates from the front: the first `take` slots are the draw, in order.
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rng() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, take);
}
