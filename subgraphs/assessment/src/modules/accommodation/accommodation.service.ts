// Accommodations: per learner, for a course (every quiz of it) or one quiz (which wins over the
// course's): a time multiplier, extra attempts, an extension of the close. Set by ORG_ADMIN or
// an instructor of one of the learner's cohorts. Setting one recomputes the deadline of the
// learner's open attempts at once (attempt.store refreshDeadlines), so their next save sees it,
// and schedules the expire-attempt job of each moved deadline.
import { randomUUID } from 'node:crypto';
import { badInput, forbidden, inputId, notFound } from '@lectern/kernel';
import { requireGrader } from '../../access.ts';
import { assessmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../../mutation.ts';
import { refreshDeadlines } from '../attempt/attempt.store.ts';

export interface SetAccommodationInput extends Idempotent {
  learnerId: string;
  courseId?: string | null;
  quizId?: string | null;
  timeMultiplier?: number | null;
  extraAttempts?: number | null;
  extensionMinutes?: number | null;
}

type Row = Record<string, unknown>;

export class AccommodationService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async setAccommodation(input: SetAccommodationInput): Promise<MutationResult> {
    const { actor, viewer, catalog } = this.#deps;
    requireGrader(actor);
    const learnerId = inputId(input.learnerId, 'User', 'learnerId');
    if ((input.courseId == null) === (input.quizId == null)) throw badInput('Give exactly one of courseId and quizId', input.courseId == null ? 'courseId' : 'quizId');
    const courseId = input.courseId == null ? null : inputId(input.courseId, 'Course', 'courseId');
    const quizId = input.quizId == null ? null : inputId(input.quizId, 'Quiz', 'quizId');
    const multiplier = input.timeMultiplier ?? 1;
    if (!Number.isFinite(multiplier) || multiplier < 1 || multiplier > 10) throw badInput('timeMultiplier must be from 1 to 10', 'timeMultiplier');
    const extra = input.extraAttempts ?? 0;
    if (!Number.isInteger(extra) || extra < 0 || extra > 100) throw badInput('extraAttempts must be a whole number from 0 to 100', 'extraAttempts');
    const minutes = input.extensionMinutes ?? 0;
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > 525_600) throw badInput('extensionMinutes must be a whole number from 0 to 525600', 'extensionMinutes');
    return runMutation({ ...this.#deps, actor }, 'setAccommodation', input, async (em, tenantId, after) => {
      let course = courseId;
      if (quizId) {
        const [q] = await em.execute<Row[]>(`select course_id from quizzes where tenant_id = ? and id = ?`, [tenantId, quizId]);
        if (!q) throw notFound('Quiz');
        course = String(q.course_id);
      } else if (!(await catalog.existingCourses(tenantId, [courseId!])).has(courseId!)) {
        return { errors: [assessmentError('COURSE_NOT_FOUND', 'No such course in the organization', 'courseId')] };
      }
      if (!viewer.gradesAll) {
        // An instructor accommodates the learners of cohorts they teach, in that course.
        const [teaches] = await em.execute<Row[]>(
          `select 1 from roster_enrollments e join roster_cohorts c on c.tenant_id = e.tenant_id and c.cohort_id = e.cohort_id
            where e.tenant_id = ? and e.learner_id = ? and e.course_id = ? and ?::uuid = any(c.instructor_ids) limit 1`,
          [tenantId, learnerId, course, viewer.userId],
        );
        if (!teaches) throw forbidden("Only an ORG_ADMIN or an instructor of the learner's cohort in this course can set their accommodations");
      }
      const scope = quizId ? { col: 'quiz_id', id: quizId } : { col: 'course_id', id: courseId! };
      const [row] = await em.execute<Row[]>(
        `insert into accommodations (id, tenant_id, learner_id, ${scope.col}, time_multiplier, extra_attempts, extension_seconds, updated_by) values (?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, learner_id, ${scope.col}) where ${scope.col} is not null
         do update set time_multiplier = excluded.time_multiplier, extra_attempts = excluded.extra_attempts, extension_seconds = excluded.extension_seconds, updated_by = excluded.updated_by, updated_at = now()
         returning id`,
        [randomUUID(), tenantId, learnerId, scope.id, multiplier, extra, minutes * 60, actor.userId],
      );
      const moved = await refreshDeadlines(em, tenantId, learnerId);
      after(() => this.#deps.deadlines.schedule(tenantId, moved));
      return { accommodationId: String(row!.id), movedAttemptIds: moved.map((m) => m.id), errors: [] };
    });
  }
}
