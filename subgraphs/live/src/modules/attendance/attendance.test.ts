import { describe, expect, it } from 'vitest';
import { attendedSeconds, percentOf } from './attendance.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));

describe('attendance arithmetic', () => {
  it('merges overlapping intervals and clips them to the session', () => {
    const intervals = [
      { joinedAt: at(-30), leftAt: at(20) },
      { joinedAt: at(10), leftAt: at(40) },
      { joinedAt: at(50), leftAt: null },
    ];
    expect(attendedSeconds(intervals, at(0), at(60))).toBe(40 + 10);
  });
  it('rounds the percentage down and bounds it', () => {
    expect(percentOf(59, 60)).toBe(98);
    expect(percentOf(70, 60)).toBe(100);
    expect(percentOf(5, 0)).toBe(0);
  });
});
