// The policy as data: how a stored policy is read. What the rules do is tested where they
// run, through the progress statement on PostgreSQL (test/completion-policy.int.test.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, effectiveDuration, readPolicy } from './policy.ts';

describe('reading a stored policy', () => {
  it('fills what a stored policy leaves out with the defaults', () => {
    expect(readPolicy(null)).toEqual(DEFAULT_POLICY);
    expect(readPolicy({ VIDEO: { rule: 'OPENED' } })).toEqual({ ...DEFAULT_POLICY, VIDEO: { rule: 'OPENED' } });
    expect(readPolicy({ course: { rule: 'ALL_LESSONS' } }).course).toEqual({ rule: 'ALL_LESSONS' });
  });
  it('falls back to the defaults for a policy that does not parse', () => {
    expect(readPolicy({ VIDEO: { rule: 'WATCHED_FRACTION', threshold: 7 } })).toEqual(DEFAULT_POLICY);
    expect(readPolicy({ VIDEO: { rule: 'SOMETHING' } })).toEqual(DEFAULT_POLICY);
  });
});

describe('the duration a watched fraction is shown against', () => {
  it('is catalog’s, else the player’s, else none', () => {
    expect(effectiveDuration({ durationSeconds: 100, reportedDurationSeconds: 50 })).toBe(100);
    expect(effectiveDuration({ durationSeconds: null, reportedDurationSeconds: 50 })).toBe(50);
    expect(effectiveDuration({ durationSeconds: 0, reportedDurationSeconds: null })).toBeNull();
  });
});
