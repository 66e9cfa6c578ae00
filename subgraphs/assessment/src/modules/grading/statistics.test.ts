// Item and quiz statistics on examples small enough to compute by hand, and quiz grading methods.
import { describe, expect, it } from 'vitest';
import { quizGrade } from './grading-method.ts';
import { itemStatistics, quizStatistics } from './statistics.ts';

describe('itemStatistics', () => {
  it('computes facility, discrimination and point-biserial by hand', () => {
    // items 1 0 1 0 against totals .9 .3 .6 .4:
    // mean item .5, mean total .55; Σdxdy = .5(.35 + .25 + .05 + .15) = .4; Σdx² = 1;
    // Σdy² = .1225 + .0625 + .0025 + .0225 = .21; r = .4 / √.21 = 0.872872…
    // group size max(1, round(.27 × 4)) = 1: top (.9) scored 1, bottom (.3) scored 0 → 1.
    const stats = itemStatistics(
      [
        { attemptId: 'a', attemptFraction: 0.9, itemFraction: 1, choiceIds: ['x'] },
        { attemptId: 'b', attemptFraction: 0.3, itemFraction: 0, choiceIds: ['y'] },
        { attemptId: 'c', attemptFraction: 0.6, itemFraction: 1, choiceIds: ['x'] },
        { attemptId: 'd', attemptFraction: 0.4, itemFraction: 0, choiceIds: null },
      ],
      ['x', 'y', 'z'],
    );
    expect(stats.attempts).toBe(4);
    expect(stats.facility).toBe(0.5);
    expect(stats.discrimination).toBe(1);
    expect(stats.pointBiserial).toBeCloseTo(0.872872, 6);
    expect(stats.optionCounts).toEqual([
      { optionId: 'x', count: 2 },
      { optionId: 'y', count: 1 },
      { optionId: 'z', count: 0 },
    ]);
  });

  it('uses groups of 27 %', () => {
    // n = 10 → groups of 3. Totals 0.0 … 0.9; items: bottom three 0, 0, 1; top three 1, 1, 0.
    const items = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0];
    const stats = itemStatistics(
      items.map((itemFraction, i) => ({ attemptId: `a${i}`, attemptFraction: i / 10, itemFraction })),
      [],
    );
    expect(stats.discrimination).toBeCloseTo(2 / 3 - 1 / 3, 12);
    expect(stats.facility).toBe(0.5);
  });

  it('gives nulls where the numbers mean nothing', () => {
    expect(itemStatistics([], ['a'])).toEqual({
      attempts: 0,
      facility: null,
      discrimination: null,
      pointBiserial: null,
      optionCounts: [{ optionId: 'a', count: 0 }],
    });
    const one = itemStatistics([{ attemptId: 'a', attemptFraction: 0.5, itemFraction: 1 }], []);
    expect(one).toMatchObject({ facility: 1, discrimination: null, pointBiserial: null });
    const constant = itemStatistics(
      [
        { attemptId: 'a', attemptFraction: 0.2, itemFraction: 1 },
        { attemptId: 'b', attemptFraction: 0.8, itemFraction: 1 },
      ],
      [],
    );
    expect(constant.pointBiserial).toBeNull();
    expect(constant.discrimination).toBe(0);
  });

  it('counts TRUE_FALSE answers as options "true"/"false"', () => {
    const stats = itemStatistics(
      [
        { attemptId: 'a', attemptFraction: 1, itemFraction: 1, choiceIds: ['true'] },
        { attemptId: 'b', attemptFraction: 0, itemFraction: 0, choiceIds: ['false'] },
        { attemptId: 'c', attemptFraction: 1, itemFraction: 1, choiceIds: ['true'] },
      ],
      ['true', 'false'],
    );
    expect(stats.optionCounts).toEqual([
      { optionId: 'true', count: 2 },
      { optionId: 'false', count: 1 },
    ]);
  });
});

describe('quizStatistics', () => {
  it('computes mean, median and ten buckets', () => {
    const stats = quizStatistics([0, 0.05, 0.1, 0.3, 0.95, 1]);
    expect(stats.attempts).toBe(6);
    expect(stats.mean).toBeCloseTo(2.4 / 6, 12);
    expect(stats.median).toBeCloseTo(0.2, 12);
    expect(stats.distribution.map((b) => b.count)).toEqual([2, 1, 0, 1, 0, 0, 0, 0, 0, 2]);
    expect(stats.distribution[0]).toEqual({ from: 0, to: 0.1, count: 2 });
    expect(stats.distribution[9]).toEqual({ from: 0.9, to: 1, count: 2 });
    expect(quizStatistics([0.1 + 0.2]).distribution[3]?.count).toBe(1);
    expect(quizStatistics([0.7, 0.2, 0.4]).median).toBe(0.4);
  });
  it('is empty without attempts', () => {
    const stats = quizStatistics([]);
    expect(stats).toMatchObject({ attempts: 0, mean: null, median: null });
    expect(stats.distribution).toHaveLength(10);
  });
});

describe('quizGrade', () => {
  const attempts = [
    { number: 2, fraction: 0.9 },
    { number: 3, fraction: 0.6 },
    { number: 1, fraction: 0.3 },
  ];
  it('applies each method', () => {
    expect(quizGrade('HIGHEST', attempts)).toBe(0.9);
    expect(quizGrade('LAST', attempts)).toBe(0.6);
    expect(quizGrade('FIRST', attempts)).toBe(0.3);
    expect(quizGrade('AVERAGE', attempts)).toBeCloseTo(0.6, 12);
  });
  it('is null without attempts', () => {
    for (const m of ['HIGHEST', 'LAST', 'AVERAGE', 'FIRST'] as const) expect(quizGrade(m, [])).toBeNull();
  });
});
