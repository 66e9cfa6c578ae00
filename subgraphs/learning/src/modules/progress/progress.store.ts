// Progress: the one write path (heartbeat flusher, offline sync, QuizPassed) and the one
// implementation of the completion policy. Facts in; merged state, state transitions and
// their completion events out; set-based: one statement computes every state of a call, for
// one organization, however many learners and lessons it carries. The policy's behaviour is
// pinned down by test/completion-policy.int.test.ts, through applyProgress on PostgreSQL.
//
// The state machines, for a newcomer. A lesson's state is lesson_progress.status (per
// enrollment and lesson), a course's is enrollments.progress_status (per enrollment):
//
//   lesson  NOT_STARTED ──activity──▶ IN_PROGRESS ──the kind's rule holds──▶ COMPLETED
//           (a lesson whose rule holds at once goes straight to COMPLETED)
//   course  NOT_STARTED ──a lesson is no longer NOT_STARTED──▶ IN_PROGRESS ──the course rule holds──▶ COMPLETED
//
//   activity  opened, any second covered, a position above 0, or the quiz passed.
//   lesson rules, per lesson kind, from the course's policy (completion_policies.rules over
//     DEFAULT_POLICY in policy.ts; a course without a row has the defaults):
//       WATCHED_FRACTION t  covered seconds (the union of watched ranges, so rewatching adds
//                           nothing) >= ceil(t × duration); the duration is catalog's, else
//                           the longest one a player reported; with neither, any covered
//                           second completes (a video nobody can measure must not block
//                           the course for ever). Default for VIDEO: t = 0.8.
//       OPENED              any activity. Default for TEXT and EXTERNAL.
//       PASSED              the quiz was passed (QuizPassed). Default for QUIZ.
//   course rule: ALL_REQUIRED (default) every required lesson of the enrolled version is
//     COMPLETED; ALL_LESSONS every lesson is. A version with no counted lesson does not
//     complete through progress.
//   attendance (optional, policy `attendance.minSessionPercent`): the course completes only
//     when, besides the course rule, the learner attended at least that share of one ended
//     Session of their offering (session_attendance, from live's AttendanceRecorded; its
//     handler re-evaluates the learner's enrollments through this statement, so a learner who
//     met the course rule first completes when the attendance arrives).
//   COMPLETED is terminal: no later fact and no stricter policy leaves it, and completed_at
//     keeps its first value. A policy change applies from each learner's next progress.
//   A DROPPED enrollment completes nothing (its lessons may still become IN_PROGRESS).
//   Facts only grow (coverage is a union, opened and passed only become true, reported
//     durations are maxima, a device's watched time a deduplicated sum or a max), so the
//     state reached does not depend on the order facts arrive in, and a replay changes nothing.
//
// Exactly once: a transition to COMPLETED stamps completed_tx = txid_current(). The
// statement returns the rows this transaction stamped, and only those are recorded, in the
// same transaction, as LessonCompleted / CourseCompleted through the kernel's outbox
// (recordEvents: each payload checked by the contract's schema). A row completed by another
// transaction is never announced again.
//
// Per call (inside the caller's transaction, tenant already set):
//   1. lock the affected enrollment rows (sorted): every writer of an enrollment's progress
//      takes this lock first, so concurrent flushes, syncs and quiz results serialise per
//      enrollment and the next statement sees every committed lesson state (no write skew
//      between two "last" lessons completed at once);
//   2. ONE statement: upsert device_watch (heartbeat deltas deduplicated by the last applied
//      stream id; device-cumulative sync time as a max), upsert lesson_progress (coverage
//      union, last-writer-wins position by (positionAt, deviceId), monotone flags, the lesson
//      state machine), update the enrollment's course state machine, return the transitions;
//   3. record their events (an insert and the relay's wake-up per event type, only when this
//      call completed something).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { recordEvents } from '@lectern/kernel/outbox';
import { CourseCompleted, LessonCompleted } from '@lectern/contracts/learning';
import { DEFAULT_POLICY } from '../policy/policy.ts';
import { uuidArrayLiteral } from '@lectern/kernel/rows';

export interface LessonFactsInput {
  enrollmentId: string;
  lessonId: string;
  /** Last-writer-wins candidate; null when this input carries no position. */
  position: number | null;
  positionAt: string | null;
  positionDevice: string;
  /** Half-open [from, to) second ranges watched. */
  ranges: [number, number][];
  opened: boolean;
  quizPassed: boolean;
  reportedDuration: number | null;
}

/** A lesson's input that adds no fact (applyProgress only re-evaluates it); spread facts over it. */
export const noFacts = (enrollmentId: string, lessonId: string): LessonFactsInput => ({
  enrollmentId,
  lessonId,
  position: null,
  positionAt: null,
  positionDevice: '',
  ranges: [],
  opened: false,
  quizPassed: false,
  reportedDuration: null,
});

export interface DeviceFactsInput {
  enrollmentId: string;
  lessonId: string;
  deviceId: string;
  /** Heartbeat deltas: [stream id ms, stream id seq, seconds]; applied once each. */
  beats: [number, number, number][];
  /** Device-cumulative watched seconds (sync), or null. */
  syncSeconds: number | null;
}

export interface ApplyResult {
  lessonsCompleted: number;
  coursesCompleted: number;
}

/** Merges `ranges` into sorted, non-overlapping [from, to) ranges. */
export function normaliseRanges(ranges: [number, number][]): [number, number][] {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export const multirangeLiteral = (ranges: [number, number][]) => `{${normaliseRanges(ranges).map(([a, b]) => `[${a},${b})`).join(',')}}`;

/** Parses PostgreSQL's int4multirange text ('{[0,30),[40,60)}') into [from, to) pairs. */
export function parseMultirange(text: string | null | undefined): [number, number][] {
  if (!text) return [];
  return [...text.matchAll(/([[(])(-?\d*),(-?\d*)([\])])/g)].map((m) => {
    const from = Number(m[2]) + (m[1] === '(' ? 1 : 0);
    const to = Number(m[3]) + (m[4] === ']' ? 1 : 0);
    return [from, to] as [number, number];
  });
}

// Its SQL comments hold no question mark or quote: the driver would take a question mark for
// a parameter, and a quote for the start of a string.
const APPLY_SQL = `
with t as (select ?::uuid as id),
-- The policy of a course without a row, and what a stored row leaves out (as readPolicy merges).
defaults as (select ?::jsonb as rules),
-- Facts in: per (enrollment, lesson), and per (enrollment, lesson, device).
li as (
  select x.* from jsonb_to_recordset(?::jsonb) as x(e uuid, l uuid, pos int, pos_at timestamptz, pos_dev text, ranges int4multirange, opened boolean, passed boolean, dur int)
),
di as (
  select x.* from jsonb_to_recordset(?::jsonb) as x(e uuid, l uuid, d text, beats jsonb, lm bigint, ls bigint, sync int)
),
-- Watched time per device: heartbeat seconds count once per stream id above the last one
-- applied; sync time is the cumulative count of the device (a max); the time of a device
-- is the greater of the two, the time of a lesson the sum over its devices.
dprev as (
  select di.*, coalesce(w.hb_seconds, 0) as hb0, coalesce(w.sync_seconds, 0) as sync0,
         coalesce(w.hb_last_ms, 0) as ms0, coalesce(w.hb_last_seq, 0) as seq0
    from di
    left join device_watch w on w.tenant_id = (select id from t) and w.enrollment_id = di.e and w.lesson_id = di.l and w.device_id = di.d
),
dnew as (
  select dprev.*,
         hb0 + coalesce((select sum((b->>2)::int) from jsonb_array_elements(dprev.beats) b
                          where ((b->>0)::bigint, (b->>1)::bigint) > (dprev.ms0, dprev.seq0)), 0)::int as hb1,
         greatest(sync0, coalesce(sync, 0)) as sync1,
         case when (lm, ls) > (ms0, seq0) then lm else ms0 end as ms1,
         case when (lm, ls) > (ms0, seq0) then ls else seq0 end as seq1
    from dprev
),
dup as (
  insert into device_watch (tenant_id, enrollment_id, lesson_id, device_id, hb_seconds, hb_last_ms, hb_last_seq, sync_seconds)
  select (select id from t), e, l, d, hb1, ms1, seq1, sync1 from dnew
  on conflict (tenant_id, enrollment_id, lesson_id, device_id) do update
     set hb_seconds = excluded.hb_seconds, hb_last_ms = excluded.hb_last_ms, hb_last_seq = excluded.hb_last_seq, sync_seconds = excluded.sync_seconds
  returning 1
),
wdelta as (
  select e, l, sum(greatest(hb1, sync1) - greatest(hb0, sync0))::int as delta from dnew group by e, l
),
-- Each lesson: its stored state (s0, w0, ...) beside the new facts, its kind and the policy.
facts as (
  select li.*, vl.kind, vl.required, vl.duration_seconds, vl.lineage_id,
         en.learner_id, en.course_id, en.course_version_id, en.status as est,
         (select rules from defaults) || coalesce(cp.rules, '{}'::jsonb) as rules, coalesce(wd.delta, 0) as wdelta,
         p.status as s0, p.watched as w0, p.position as pos0, p.position_at as pat0, p.position_device as pdev0,
         p.opened as o0, p.quiz_passed as q0, p.reported_duration as rd0, p.watched_seconds as ws0,
         p.completed_at as c0, p.completed_tx as ctx0, p.started_at as st0
    from li
    join enrollments en on en.tenant_id = (select id from t) and en.id = li.e
    join version_lessons vl on vl.tenant_id = (select id from t) and vl.version_id = en.course_version_id and vl.lesson_id = li.l
    left join completion_policies cp on cp.tenant_id = (select id from t) and cp.course_id = en.course_id
    left join wdelta wd on wd.e = li.e and wd.l = li.l
    left join lesson_progress p on p.tenant_id = (select id from t) and p.enrollment_id = li.e and p.lesson_id = li.l
),
-- The merged facts: coverage union, flags ored, the longest reported duration, the later
-- position by (positionAt, deviceId).
merged as (
  select f.*,
         coalesce(f.w0, '{}'::int4multirange) + coalesce(f.ranges, '{}'::int4multirange) as w1,
         (coalesce(f.o0, false) or coalesce(f.opened, false)) as o1,
         (coalesce(f.q0, false) or coalesce(f.passed, false)) as q1,
         nullif(greatest(coalesce(f.rd0, 0), coalesce(f.dur, 0)), 0) as rd1,
         (f.pos is not null and f.pos_at is not null and (f.pat0 is null or (f.pos_at, f.pos_dev) > (f.pat0, f.pdev0))) as pos_wins,
         coalesce(f.ws0, 0) + f.wdelta as ws1
    from facts f
),
covered as (
  select m.*,
         (select coalesce(sum(upper(r) - lower(r)), 0) from unnest(m.w1) r)::int as cov1,
         coalesce(nullif(m.duration_seconds, 0), m.rd1) as eff,
         case when m.pos_wins then m.pos else coalesce(m.pos0, 0) end as pos1,
         case when m.pos_wins then m.pos_at else m.pat0 end as pat1,
         case when m.pos_wins then m.pos_dev else coalesce(m.pdev0, '') end as pdev1,
         m.rules -> m.kind as rule
    from merged m
),
-- The lesson rules: act = any activity; done = the rule of its kind holds (never for a DROPPED enrollment).
evaluated as (
  select c.*,
         (c.o1 or c.cov1 > 0 or c.pos1 > 0 or c.q1) as act,
         (c.est <> 'DROPPED' and case c.rule->>'rule'
            when 'OPENED' then (c.o1 or c.cov1 > 0 or c.pos1 > 0 or c.q1)
            when 'PASSED' then c.q1
            when 'WATCHED_FRACTION' then case when c.eff is null then c.cov1 > 0
                                              else c.cov1 >= ceil((c.rule->>'threshold')::numeric * c.eff) end
            else false end) as done
    from covered c
),
-- The lesson state machine. COMPLETED stays (also against a concurrent writer: the
-- conflict branch keeps it); completed_tx marks a transition made by this transaction.
lup as (
  insert into lesson_progress as lp (tenant_id, enrollment_id, lesson_id, learner_id, status, position, position_at, position_device,
                                     watched, covered_seconds, watched_seconds, reported_duration, opened, quiz_passed,
                                     started_at, completed_at, completed_tx, updated_at)
  select (select id from t), e, l, learner_id,
         case when s0 = 'COMPLETED' or done then 'COMPLETED' when act or s0 = 'IN_PROGRESS' then 'IN_PROGRESS' else 'NOT_STARTED' end,
         pos1, pat1, pdev1, w1, cov1, ws1, rd1, o1, q1,
         coalesce(st0, now()),
         case when s0 = 'COMPLETED' then c0 when done then now() end,
         case when s0 = 'COMPLETED' then ctx0 when done then txid_current() end,
         now()
    from evaluated
  on conflict (tenant_id, enrollment_id, lesson_id) do update
     set status = case when lp.status = 'COMPLETED' then 'COMPLETED' else excluded.status end,
         position = excluded.position, position_at = excluded.position_at, position_device = excluded.position_device,
         watched = lp.watched + excluded.watched,
         covered_seconds = excluded.covered_seconds, watched_seconds = excluded.watched_seconds,
         reported_duration = excluded.reported_duration,
         opened = lp.opened or excluded.opened, quiz_passed = lp.quiz_passed or excluded.quiz_passed,
         completed_at = coalesce(lp.completed_at, excluded.completed_at),
         completed_tx = case when lp.completed_at is null then excluded.completed_tx else lp.completed_tx end,
         updated_at = now()
  returning lp.enrollment_id, lp.lesson_id, lp.status, coalesce(lp.completed_tx = txid_current(), false) as newly
),
-- The course rule, over every lesson of the enrolled version: the lesson states this statement
-- wrote (lup) where it wrote one, else the stored ones (locked in step 1, so current).
course_eval as (
  select en.id as e, en.course_id, en.course_version_id, en.learner_id, en.offering_id,
         count(*) filter (where x.counted) as n_counted,
         count(*) filter (where x.counted and x.st = 'COMPLETED') as n_done,
         coalesce(bool_or(x.st <> 'NOT_STARTED'), false) as any_started
    from enrollments en
    join version_lessons vl on vl.tenant_id = en.tenant_id and vl.version_id = en.course_version_id
    left join lup on lup.enrollment_id = en.id and lup.lesson_id = vl.lesson_id
    left join lesson_progress p on p.tenant_id = en.tenant_id and p.enrollment_id = en.id and p.lesson_id = vl.lesson_id
    left join completion_policies cp on cp.tenant_id = en.tenant_id and cp.course_id = en.course_id
    cross join lateral (
      select coalesce(lup.status, p.status, 'NOT_STARTED') as st,
             (((select rules from defaults) || coalesce(cp.rules, '{}'::jsonb))->'course'->>'rule' = 'ALL_LESSONS' or vl.required) as counted
    ) x
   where en.tenant_id = (select id from t) and en.id in (select distinct e from li) and en.status <> 'DROPPED'
   group by en.id, en.course_id, en.course_version_id, en.learner_id, en.offering_id
),
-- The course is done when the course rule holds and, under an attendance requirement, the
-- learner attended at least that share of one ended session of their offering (learners only:
-- session_attendance holds no one else).
course_done as (
  select ce.*,
         (ce.n_counted > 0 and ce.n_done = ce.n_counted
          and (req.pct is null or exists (select 1 from session_attendance sa
                                           where sa.tenant_id = (select id from t) and sa.learner_id = ce.learner_id
                                             and sa.offering_id = ce.offering_id and sa.percent >= req.pct))) as done
    from course_eval ce
    left join completion_policies cp on cp.tenant_id = (select id from t) and cp.course_id = ce.course_id
    cross join lateral (
      select ((((select rules from defaults) || coalesce(cp.rules, '{}'::jsonb))->'attendance'->>'minSessionPercent'))::int as pct
    ) req
),
-- The course state machine, on the enrollment row (COMPLETED stays; completed_tx as above).
cup as (
  update enrollments en
     set progress_status = case when en.progress_status = 'COMPLETED' then 'COMPLETED'
                                when ce.done then 'COMPLETED'
                                when ce.any_started then 'IN_PROGRESS' else en.progress_status end,
         started_at = coalesce(en.started_at, case when ce.any_started then now() end),
         completed_at = coalesce(en.completed_at, case when ce.done then now() end),
         completed_tx = case when en.completed_at is null and ce.done then txid_current() else en.completed_tx end,
         updated_at = now()
    from course_done ce
   where en.tenant_id = (select id from t) and en.id = ce.e
  returning en.id, en.learner_id, en.course_id, en.course_version_id, coalesce(en.completed_tx = txid_current(), false) as newly
)
-- The transitions to COMPLETED this transaction made, as the payloads of their events.
select coalesce((select jsonb_agg(jsonb_build_object('enrollmentId', f.e, 'learnerId', f.learner_id, 'courseId', f.course_id,
                                                     'courseVersionId', f.course_version_id, 'lessonId', f.l, 'lineageId', f.lineage_id))
                   from lup join facts f on f.e = lup.enrollment_id and f.l = lup.lesson_id
                  where lup.newly), '[]'::jsonb) as lessons,
       coalesce((select jsonb_agg(jsonb_build_object('enrollmentId', cup.id, 'learnerId', cup.learner_id, 'courseId', cup.course_id,
                                                     'courseVersionId', cup.course_version_id))
                   from cup where cup.newly), '[]'::jsonb) as courses`;

const DEFAULT_RULES = JSON.stringify(DEFAULT_POLICY);

/**
 * Applies progress facts for one organization in the caller's transaction (see the header),
 * completion events included. Facts for lessons outside the enrollment's course version are
 * ignored (the request path refuses them first). Returns how many completions this call recorded.
 */
export async function applyProgress(
  em: EntityManager,
  tenantId: string,
  lessons: LessonFactsInput[],
  devices: DeviceFactsInput[] = [],
): Promise<ApplyResult> {
  if (lessons.length === 0) return { lessonsCompleted: 0, coursesCompleted: 0 };
  const enrollmentIds = [...new Set(lessons.map((l) => l.enrollmentId))].sort();
  await em.execute(`select id from enrollments where tenant_id = ? and id = any(?::uuid[]) order by id for update`, [tenantId, uuidArrayLiteral(enrollmentIds)]);
  const li = lessons.map((l) => ({
    e: l.enrollmentId,
    l: l.lessonId,
    pos: l.position,
    pos_at: l.positionAt,
    pos_dev: l.positionDevice,
    ranges: multirangeLiteral(l.ranges),
    opened: l.opened,
    passed: l.quizPassed,
    dur: l.reportedDuration,
  }));
  const di = devices.map((d) => {
    let lm = 0;
    let ls = 0;
    for (const [ms, seq] of d.beats) if (ms > lm || (ms === lm && seq > ls)) [lm, ls] = [ms, seq];
    return { e: d.enrollmentId, l: d.lessonId, d: d.deviceId, beats: d.beats, lm, ls, sync: d.syncSeconds };
  });
  const [row] = await em.execute<Transitions[]>(APPLY_SQL, [tenantId, DEFAULT_RULES, JSON.stringify(li), JSON.stringify(di)]);
  const lessonsDone = row?.lessons ?? [];
  const coursesDone = row?.courses ?? [];
  // Lessons first: a consumer reading the enrollment's events in order sees the course last.
  await recordEvents(em, LessonCompleted, tenantId, lessonsDone.map((payload) => ({ aggregateId: payload.enrollmentId, payload })));
  await recordEvents(em, CourseCompleted, tenantId, coursesDone.map((payload) => ({ aggregateId: payload.enrollmentId, payload })));
  return { lessonsCompleted: lessonsDone.length, coursesCompleted: coursesDone.length };
}

/** What APPLY_SQL returns: the payloads of the completions it made (checked by recordEvents). */
interface Transitions {
  lessons: z.input<typeof LessonCompleted.payload>[];
  courses: z.input<typeof CourseCompleted.payload>[];
}
