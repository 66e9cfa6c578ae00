// Learning's projection of enrollment's events (queue events-learning), QuizPassed, and live's
// AttendanceRecorded (the completion policy's attendance requirement).
// Each handler runs in the event's organization's unit of work, in the same transaction as
// the kernel's processed_events row (effect once); the writes are upserts, so a redelivery
// that slips past it (none should) changes nothing either.
import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import type { EventEnvelope } from '@lectern/kernel/events';
import { CohortInstructorsChanged, EnrollmentCompleted, EnrollmentDropped, EnrollmentMoved, LearnerEnrolled, OfferingVersionChanged } from '@lectern/contracts/enrollment';
import { QuizPassed } from '@lectern/contracts/assessment';
import { AttendanceRecorded } from '@lectern/contracts/live';
import { enrollmentsToReevaluate, recordAttendance } from '../attendance/attendance.store.ts';
import { applyProgress, noFacts } from '../progress/progress.store.ts';
import type { AccessCache } from '../heartbeat/access-cache.ts';
import type { CatalogClient } from './catalog-client.ts';
import { insertVersion, lockOffering, moveEnrollment, moveOfferingVersion, quizLessons, replaceCohortInstructors, upsertEnrollment, versionKnown, type VersionLessonRow } from './projection.store.ts';

export interface ProjectionDeps {
  catalog: CatalogClient;
  access: AccessCache;
}

function tenantOf(event: EventEnvelope): string {
  if (!event.tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
  return event.tenantId;
}

/** Fetches and stores the lessons of a course version unless already known. */
export async function ensureVersion(em: EntityManager, catalog: CatalogClient, tenantId: string, versionId: string): Promise<void> {
  if (await versionKnown(em, tenantId, versionId)) return;
  const [version] = await catalog.versions(tenantId, [versionId]);
  if (!version) throw new Error(`catalog does not know course version ${versionId} (yet)`);
  const lessons: VersionLessonRow[] = version.lessons.map((l, position) => ({
    lesson_id: l.lessonId,
    lineage_id: l.lineageId,
    position,
    kind: l.kind,
    required: l.required,
    duration_seconds: l.durationSeconds,
    quiz_id: l.quizId,
  }));
  await insertVersion(em, tenantId, versionId, version.courseId, lessons);
}

export function projectionHandlers(deps: ProjectionDeps): EventHandler[] {
  /** The cached lesson access is dropped now and once more shortly after commit (a read racing the commit may have refilled it). */
  const invalidate = async (tenantId: string, learnerId: string) => {
    await deps.access.invalidate(tenantId, learnerId);
    setTimeout(() => void deps.access.invalidate(tenantId, learnerId).catch(() => {}), 2000).unref();
  };

  const enrolled = onEvent(LearnerEnrolled, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await lockOffering(em, tenantId, event.payload.offeringId);
    await upsertEnrollment(em, tenantId, event.payload, 'ACTIVE');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const dropped = onEvent(EnrollmentDropped, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await lockOffering(em, tenantId, event.payload.offeringId);
    await upsertEnrollment(em, tenantId, event.payload, 'DROPPED');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const completed = onEvent(EnrollmentCompleted, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await lockOffering(em, tenantId, event.payload.offeringId);
    await upsertEnrollment(em, tenantId, event.payload, 'COMPLETED');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const moved = onEvent(EnrollmentMoved, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await moveEnrollment(em, tenantId, event.payload.enrollmentId, event.payload.toCohortId);
  });

  const instructors = onEvent(CohortInstructorsChanged, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const { cohortId, instructorIds } = event.payload;
    await replaceCohortInstructors(em, tenantId, cohortId, instructorIds);
  });

  /** A QUIZ lesson is passed when its learner passed that lesson's quiz (in any enrollment holding it). */
  const quizPassed = onEvent(QuizPassed, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const rows = await quizLessons(em, tenantId, event.payload.learnerId, event.payload.quizId);
    await applyProgress(
      em,
      tenantId,
      rows.map((r) => ({ ...noFacts(r.enrollmentId, r.lessonId), opened: true, quizPassed: true })),
    );
  });

  /**
   * The offering runs another version: its enrollments move to it with their progress in the
   * lessons that still exist there (same lineage), and the completion policy re-evaluates the
   * carried lessons and the course once, in this transaction (the processed_events claim makes
   * it once per event): a lesson or course the new version completes is announced then; one
   * completed before stays completed and is not announced again.
   */
  const versionChanged = onEvent(OfferingVersionChanged, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const { offeringId, courseId, toVersionId } = event.payload;
    await ensureVersion(em, deps.catalog, tenantId, toVersionId);
    await lockOffering(em, tenantId, offeringId);
    const { moved, carried } = await moveOfferingVersion(em, tenantId, { offeringId, courseId, toVersionId });
    await applyProgress(em, tenantId, carried.map((c) => noFacts(c.enrollmentId, c.lessonId)));
    for (const learnerId of new Set(moved.map((m) => m.learnerId))) await invalidate(tenantId, learnerId);
  });

  /**
   * A session ended: its learners' attendance is stored (per learner, session and offering),
   * and the course completion of each of them in the offering is re-evaluated once, in this
   * transaction, so a learner who met the course rule before completes now when the policy's
   * attendance requirement holds (CourseCompleted once: the progress statement's completed_tx).
   * Instructors and admins attend without it counting for anything.
   */
  const attendance = onEvent(AttendanceRecorded, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const { sessionId, offeringId, endedAt, attendees } = event.payload;
    const learners = attendees.filter((a) => a.role === 'LEARNER').map((a) => ({ learnerId: a.userId, attendedSeconds: a.attendedSeconds, percent: a.percent }));
    await recordAttendance(em, tenantId, { sessionId, offeringId, endedAt }, learners);
    const due = await enrollmentsToReevaluate(em, tenantId, offeringId, learners.map((l) => l.learnerId));
    await applyProgress(em, tenantId, due.map((d) => noFacts(d.enrollmentId, d.lessonId)));
  });

  return [enrolled, dropped, completed, moved, instructors, quizPassed, versionChanged, attendance];
}
