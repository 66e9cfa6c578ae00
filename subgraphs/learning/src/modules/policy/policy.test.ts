import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, nextCourseStatus, nextLessonStatus, readPolicy, type LessonFacts } from './policy.ts';

const facts = (f: Partial<LessonFacts>): LessonFacts => ({
  kind: 'VIDEO',
  coveredSeconds: 0,
  durationSeconds: 100,
  reportedDurationSeconds: null,
  opened: false,
  quizPassed: false,
  position: 0,
  ...f,
});

describe('lesson state machine', () => {
  it('stays NOT_STARTED without activity', () => {
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({}))).toBe('NOT_STARTED');
  });
  it('moves to IN_PROGRESS on activity below the threshold', () => {
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ coveredSeconds: 79 }))).toBe('IN_PROGRESS');
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ position: 10 }))).toBe('IN_PROGRESS');
  });
  it('completes a video at 80% coverage of its catalog duration', () => {
    expect(nextLessonStatus('IN_PROGRESS', DEFAULT_POLICY, facts({ coveredSeconds: 80 }))).toBe('COMPLETED');
  });
  it('uses the player-reported duration when catalog has none, and any watching when neither is known', () => {
    const noCatalog = { durationSeconds: null };
    expect(nextLessonStatus('IN_PROGRESS', DEFAULT_POLICY, facts({ ...noCatalog, reportedDurationSeconds: 50, coveredSeconds: 39 }))).toBe('IN_PROGRESS');
    expect(nextLessonStatus('IN_PROGRESS', DEFAULT_POLICY, facts({ ...noCatalog, reportedDurationSeconds: 50, coveredSeconds: 40 }))).toBe('COMPLETED');
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ ...noCatalog, coveredSeconds: 1 }))).toBe('COMPLETED');
  });
  it('completes TEXT and EXTERNAL when opened, QUIZ only when passed', () => {
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ kind: 'TEXT', opened: true }))).toBe('COMPLETED');
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ kind: 'EXTERNAL', opened: true }))).toBe('COMPLETED');
    expect(nextLessonStatus('NOT_STARTED', DEFAULT_POLICY, facts({ kind: 'QUIZ', opened: true }))).toBe('IN_PROGRESS');
    expect(nextLessonStatus('IN_PROGRESS', DEFAULT_POLICY, facts({ kind: 'QUIZ', quizPassed: true }))).toBe('COMPLETED');
  });
  it('never leaves COMPLETED, whatever the facts', () => {
    expect(nextLessonStatus('COMPLETED', DEFAULT_POLICY, facts({}))).toBe('COMPLETED');
    const strict = readPolicy({ VIDEO: { rule: 'WATCHED_FRACTION', threshold: 1 } });
    expect(nextLessonStatus('COMPLETED', strict, facts({ coveredSeconds: 1 }))).toBe('COMPLETED');
  });
  it('follows a changed policy (rules are data)', () => {
    const lenient = readPolicy({ VIDEO: { rule: 'OPENED' } });
    expect(nextLessonStatus('NOT_STARTED', lenient, facts({ opened: true }))).toBe('COMPLETED');
    expect(readPolicy({ VIDEO: { rule: 'WATCHED_FRACTION', threshold: 7 } })).toEqual(DEFAULT_POLICY);
  });
});

describe('course state machine', () => {
  const l = (required: boolean, status: 'NOT_STARTED' | 'IN_PROGRESS' | 'COMPLETED') => ({ required, status });
  it('completes when every required lesson is completed (ALL_REQUIRED)', () => {
    expect(nextCourseStatus('IN_PROGRESS', DEFAULT_POLICY, [l(true, 'COMPLETED'), l(false, 'NOT_STARTED')])).toBe('COMPLETED');
    expect(nextCourseStatus('IN_PROGRESS', DEFAULT_POLICY, [l(true, 'COMPLETED'), l(true, 'IN_PROGRESS')])).toBe('IN_PROGRESS');
  });
  it('counts optional lessons under ALL_LESSONS', () => {
    const all = readPolicy({ course: { rule: 'ALL_LESSONS' } });
    expect(nextCourseStatus('IN_PROGRESS', all, [l(true, 'COMPLETED'), l(false, 'NOT_STARTED')])).toBe('IN_PROGRESS');
  });
  it('starts with the first started lesson and never regresses', () => {
    expect(nextCourseStatus('NOT_STARTED', DEFAULT_POLICY, [l(true, 'NOT_STARTED')])).toBe('NOT_STARTED');
    expect(nextCourseStatus('NOT_STARTED', DEFAULT_POLICY, [l(true, 'IN_PROGRESS')])).toBe('IN_PROGRESS');
    expect(nextCourseStatus('COMPLETED', DEFAULT_POLICY, [l(true, 'NOT_STARTED')])).toBe('COMPLETED');
  });
});
