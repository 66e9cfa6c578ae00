// Seeded randomness and the draw of an attempt's questions: reproducible, no duplicates.
import { describe, expect, it } from 'vitest';
import { drawQuestions } from './draw.ts';
import { newSeed, rngFrom, sample, shuffle } from './random.ts';

describe('random', () => {
  it('makes 32-hex seeds', () => {
    expect(newSeed()).toMatch(/^[0-9a-f]{32}$/u);
    expect(newSeed()).not.toBe(newSeed());
  });
  it('replays a sequence from (seed, scope) and separates scopes', () => {
    const take = (rng: () => number) => Array.from({ length: 5 }, rng);
    expect(take(rngFrom('s', 'a'))).toEqual(take(rngFrom('s', 'a')));
    expect(take(rngFrom('s', 'a'))).not.toEqual(take(rngFrom('s', 'b')));
    expect(take(rngFrom('s', 'ab'))).not.toEqual(take(rngFrom('s', 'a', 'b')));
    for (const x of take(rngFrom('range'))) expect(x >= 0 && x < 1).toBe(true);
  });
  it('shuffles into a new array and samples distinct items', () => {
    const items = [1, 2, 3, 4, 5, 6];
    const s = shuffle(items, rngFrom('x'));
    expect(items).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...s].sort()).toEqual(items);
    const drawn = sample(items, 3, rngFrom('x'));
    expect(new Set(drawn).size).toBe(3);
    expect(sample(items, 10, rngFrom('x'))).toHaveLength(6);
    expect(sample(items, 0, rngFrom('x'))).toEqual([]);
  });
  it('spreads a shuffle fairly enough', () => {
    const firsts = [0, 0, 0];
    const rng = rngFrom('fair');
    for (let i = 0; i < 3000; i++) firsts[shuffle([0, 1, 2], rng)[0] as number]! += 1;
    for (const c of firsts) expect(c).toBeGreaterThan(850);
  });
});

describe('drawQuestions', () => {
  const pool = (position: number, count: number, candidates: string[]) => ({ position, count, candidates });

  it('puts fixed questions and draws in position order', () => {
    const out = drawQuestions({
      seed: 'seed',
      fixed: [
        { position: 3, questionId: 'f3' },
        { position: 1, questionId: 'f1' },
      ],
      draws: [pool(2, 2, ['a', 'b', 'c', 'd'])],
      shuffleQuestions: false,
    });
    expect(out).toHaveLength(4);
    expect(out[0]).toBe('f1');
    expect(out[3]).toBe('f3');
    expect(['a', 'b', 'c', 'd']).toEqual(expect.arrayContaining(out.slice(1, 3)));
  });

  it('is reproducible from the seed and independent of candidate order', () => {
    const args = (candidates: string[]) => ({ seed: 'abc', fixed: [], draws: [pool(1, 3, candidates)], shuffleQuestions: true });
    const ids = Array.from({ length: 20 }, (_, i) => `q${i}`);
    const a = drawQuestions(args(ids));
    expect(drawQuestions(args([...ids].reverse()))).toEqual(a);
    const others = ['s1', 's2', 's3', 's4'].map((seed) => drawQuestions({ ...args(ids), seed }));
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true);
  });

  it('never draws a question twice and respects counts', () => {
    const out = drawQuestions({
      seed: 'dup',
      fixed: [{ position: 5, questionId: 'a' }],
      draws: [pool(1, 2, ['a', 'b', 'c']), pool(2, 2, ['b', 'c', 'd', 'd'])],
      shuffleQuestions: false,
    });
    // The first pool may not take the fixed 'a', so it takes b and c; the second has only d left.
    expect(new Set(out).size).toBe(out.length);
    expect([...out.slice(0, 2)].sort()).toEqual(['b', 'c']);
    expect(out.slice(2)).toEqual(['d', 'a']);
    const counted = drawQuestions({
      seed: 'count',
      fixed: [],
      draws: [pool(1, 3, Array.from({ length: 10 }, (_, i) => `q${i}`))],
      shuffleQuestions: false,
    });
    expect(counted).toHaveLength(3);
  });

  it('takes all candidates when there are fewer than the count', () => {
    const out = drawQuestions({ seed: 'few', fixed: [], draws: [pool(1, 10, ['x', 'y'])], shuffleQuestions: false });
    expect([...out].sort()).toEqual(['x', 'y']);
  });

  it('shuffles the whole paper only when asked', () => {
    const fixed = Array.from({ length: 12 }, (_, i) => ({ position: i, questionId: `q${i}` }));
    expect(drawQuestions({ seed: 's', fixed, draws: [], shuffleQuestions: false })).toEqual(fixed.map((f) => f.questionId));
    const shuffled = drawQuestions({ seed: 's', fixed, draws: [], shuffleQuestions: true });
    expect(shuffled).not.toEqual(fixed.map((f) => f.questionId));
    expect([...shuffled].sort()).toEqual(fixed.map((f) => f.questionId).sort());
  });
});
