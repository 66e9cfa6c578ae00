// What notifications does with the events it consumes (queue events-notifications). Each
// handler runs in a unit of work for the event's organization, in the same transaction as
// the kernel's processed_events row, so its rows are written once per event.
import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import type { EventEnvelope } from '@lectern/kernel/events';
import { MemberAdded, MemberInvited } from '@lectern/contracts/identity';
import { CoursePublished } from '@lectern/contracts/catalog';
import { LearnerEnrolled } from '@lectern/contracts/enrollment';
import { CourseCompleted } from '@lectern/contracts/learning';
import { CertificateIssued } from '@lectern/contracts/certification';
import { courseText, type CourseCategory } from '../inbox/texts.ts';
import { sendEmailOnce } from '../email/email.service.ts';
import { invitationEmail, newCourseEmail } from '../email/templates.ts';
import { claimCourseAnnouncement } from './events.store.ts';
import type { WorkerRuntime } from '../../runtime.ts';

function tenantOf(event: EventEnvelope): string {
  if (!event.tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
  return event.tenantId;
}

export function eventHandlers(rt: WorkerRuntime): EventHandler[] {
  const { env } = rt;
  const preferencesUrl = `${env.PUBLIC_APP_URL}/settings/notifications`;

  /**
   * Invitation email, at once and whatever the preferences (the invitee is not a member yet,
   * and an invitation is what they asked someone for). The dedupe key is claimed before
   * identity mints the emailed token: a duplicate never invalidates the token already sent.
   */
  const invited = onEvent(MemberInvited, async ({ em, event, log }) => {
    const tenantId = tenantOf(event);
    await rt.schedules.ensure(tenantId);
    const { invitationId, userId } = event.payload;
    const outcome = await sendEmailOnce(em, rt.mailer, {
      tenantId,
      userId,
      kind: 'INVITATION',
      dedupeKey: `invitation:${invitationId}:${event.id}`,
      compose: async () => {
        const delivery = await rt.directory.invitationDelivery(tenantId, invitationId);
        if (!delivery) return null; // accepted, revoked or expired since
        return invitationEmail({
          to: { email: delivery.email, displayName: delivery.displayName },
          organizationName: delivery.organizationName,
          acceptUrl: `${env.PUBLIC_APP_URL}/accept-invitation?token=${encodeURIComponent(delivery.token)}`,
          expiresAt: new Date(delivery.expiresAt),
        });
      },
    });
    log.info({ invitationId, outcome }, 'invitation email');
  });

  /** A welcome item in the new member's inbox. */
  const added = onEvent(MemberAdded, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await rt.schedules.ensure(tenantId);
    const { organization } = await rt.directory.members(tenantId);
    await rt.delivery.deliver(em, {
      tenantId,
      eventId: event.id,
      userIds: [event.payload.userId],
      item: {
        category: 'MEMBERSHIP',
        title: `Welcome to ${organization.name}`,
        body:
          event.payload.via === 'INVITATION'
            ? `You accepted the invitation and are now a member of ${organization.name}.`
            : `You were added to ${organization.name}. Its courses are waiting for you.`,
        link: `${env.PUBLIC_APP_URL}/`,
        courseId: null,
      },
    });
  });

  /**
   * "New course in your organization", to every active member except the publisher: in the
   * inbox, and by email at once or in a digest, as each member chose. Only a course's first
   * publication is news (a new version of a live course is not), and each course is announced
   * once even if it is unpublished and published again.
   */
  const published = onEvent(CoursePublished, async ({ em, event, log }) => {
    const tenantId = tenantOf(event);
    await rt.schedules.ensure(tenantId);
    const { courseId, previousVersionId, publishedBy } = event.payload;
    if (previousVersionId !== null) return;
    const first = await claimCourseAnnouncement(em, tenantId, courseId, event.id);
    if (!first) return;
    const { organization, members } = await rt.directory.members(tenantId);
    const title = `New course in ${organization.name}`;
    const body = `A new course was published in ${organization.name}. Have a look at what it covers.`;
    const courseUrl = `${env.PUBLIC_APP_URL}/courses/${courseId}`;
    const report = await rt.delivery.deliver(em, {
      tenantId,
      eventId: event.id,
      userIds: members.map((m) => m.userId).filter((id) => id !== publishedBy),
      item: { category: 'COURSES', title, body, link: courseUrl, courseId },
      email: {
        kind: 'COURSE_PUBLISHED',
        compose: (contact) => newCourseEmail({ to: contact, organizationName: organization.name, title, body, courseUrl, preferencesUrl }),
      },
    });
    log.info({ courseId, ...report }, 'new course announced');
  });

  /**
   * An item about the learner's own course, to the learner alone: in the inbox, and by email at
   * once or in a digest, as they chose for the category. Stored without the course's title (only
   * catalog knows it, and it may change): read through the gateway, the item names the course
   * as catalog shows it to the learner (Notification.title @requires course { title }); an email,
   * sent now, names it as catalog answers now.
   */
  const aboutCourse = async (
    rt: WorkerRuntime,
    args: { em: EntityManager; event: EventEnvelope; category: CourseCategory; learnerId: string; courseId: string; link?: string },
  ) => {
    const tenantId = tenantOf(args.event);
    await rt.schedules.ensure(tenantId);
    const { title, body } = courseText(args.category, null)!;
    // The email names the course as catalog calls it now (the inbox item does so at read time).
    const named = courseText(args.category, await rt.courses.title(tenantId, args.courseId))!;
    const courseUrl = args.link ?? `${env.PUBLIC_APP_URL}/courses/${args.courseId}`;
    const { organization } = await rt.directory.members(tenantId);
    return rt.delivery.deliver(args.em, {
      tenantId,
      eventId: args.event.id,
      userIds: [args.learnerId],
      item: { category: args.category, title, body, link: courseUrl, courseId: args.courseId },
      email: {
        kind: args.category,
        compose: (contact) => newCourseEmail({ to: contact, organizationName: organization.name, title: named.title, body: named.body, courseUrl, preferencesUrl }),
      },
    });
  };

  /** "You are enrolled" (a new seat) or "A seat opened up" (promoted from the waitlist), to the learner. */
  const enrolled = onEvent(LearnerEnrolled, async ({ em, event, log }) => {
    const { learnerId, courseId, promotedFromWaitlist } = event.payload;
    const category = promotedFromWaitlist ? 'WAITLIST_PROMOTED' : 'ENROLLMENT_CONFIRMED';
    const report = await aboutCourse(rt, { em, event, category, learnerId, courseId });
    log.info({ enrollmentId: event.payload.enrollmentId, category, ...report }, 'learner told of their enrollment');
  });

  /** "You completed the course", to the learner. */
  const completed = onEvent(CourseCompleted, async ({ em, event, log }) => {
    const { learnerId, courseId } = event.payload;
    const report = await aboutCourse(rt, { em, event, category: 'COURSE_COMPLETED', learnerId, courseId });
    log.info({ enrollmentId: event.payload.enrollmentId, ...report }, 'learner told of their completion');
  });

  /** "Your certificate is ready", to the learner (linking to it in the app). */
  const certified = onEvent(CertificateIssued, async ({ em, event, log }) => {
    const { learnerId, courseId, certificateId } = event.payload;
    const link = `${env.PUBLIC_APP_URL}/certificates/${certificateId}`;
    const report = await aboutCourse(rt, { em, event, category: 'CERTIFICATE_ISSUED', learnerId, courseId, link });
    log.info({ certificateId, ...report }, 'learner told their certificate is ready');
  });

  return [invited, added, published, enrolled, completed, certified];
}
