// Who consumes which events. Each consuming context declares here, in its own entry, the
// events it subscribes to (references to the producers' definitions, so a renamed or removed
// event fails to compile); `routes` is derived from these declarations, and every producer's
// worker hands it to its outbox relay whole. A producer names no consumer: a new consumer
// edits only its own entry, and its handlers are checked against it by its tests.
import { routesFrom, type EventDefinition, type Routes } from '@lectern/kernel/events';
import { ASSESSMENT, QuizFailed, QuizPassed } from './assessment.ts';
import { CERTIFICATION, CertificateIssued } from './certification.ts';
import { CoursePublished, CourseUnpublished } from './catalog.ts';
import { CohortInstructorsChanged, ENROLLMENT, EnrollmentCompleted, EnrollmentDropped, EnrollmentMoved, LearnerEnrolled, OfferingVersionChanged } from './enrollment.ts';
import { GATEWAY } from './gateway.ts';
import { MemberAdded, MemberInvited } from './identity.ts';
import { CourseCompleted, LEARNING } from './learning.ts';
import { AttendanceRecorded, LIVE } from './live.ts';
import { MEDIA } from './media.ts';
import { NOTIFICATIONS } from './notifications.ts';

/** Consuming context (its queue is events-<context>) → the events it handles. */
export const subscriptions = {
  [NOTIFICATIONS]: [MemberInvited, MemberAdded, CoursePublished, LearnerEnrolled, CourseCompleted, CertificateIssued],
  [ENROLLMENT]: [CourseCompleted],
  [LEARNING]: [LearnerEnrolled, EnrollmentDropped, EnrollmentMoved, EnrollmentCompleted, CohortInstructorsChanged, QuizPassed, OfferingVersionChanged, AttendanceRecorded],
  [LIVE]: [LearnerEnrolled, EnrollmentDropped, EnrollmentMoved, CohortInstructorsChanged],
  [ASSESSMENT]: [LearnerEnrolled, EnrollmentDropped, EnrollmentMoved, CohortInstructorsChanged],
  [MEDIA]: [CoursePublished],
  [CERTIFICATION]: [CourseCompleted, QuizPassed, QuizFailed],
  // The response cache holds published catalog content (cache-invalidation.ts).
  [GATEWAY]: [CoursePublished, CourseUnpublished],
} as const satisfies Record<string, readonly EventDefinition[]>;

/** Event type → consuming contexts: the `routes` of every producer's WorkerDefinition. */
export const routes: Routes = routesFrom(subscriptions);
