// The consumers of identity's and catalog's events, on real PostgreSQL, Redis and identity:
// invitation emails, welcome items and "new course" fan-out per preference, each applied once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId, idOf, inTenant } from '@lectern/kernel';
import { tenantTablesWithoutRls } from '@lectern/kernel/db';
import { actor, gql } from '@lectern/testkit';
import { CoursePublished } from '@lectern/contracts/catalog';
import { seedCourse } from '@lectern/catalog/testing';
import { MemberAdded, MemberInvited } from '@lectern/contracts/identity';
import { LearnerEnrolled } from '@lectern/contracts/enrollment';
import { CourseCompleted } from '@lectern/contracts/learning';
import { CertificateIssued } from '@lectern/contracts/certification';
import { TEST_PASSWORD } from '@lectern/identity/testing';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import { routes, subscriptions } from '@lectern/contracts/subscriptions';
import { eventHandlers } from '../src/modules/events/events.handlers.ts';
import { envelope } from '../src/testing/index.ts';
import { eventsQueue, handle, idem, mail, ok, Q, relay, seedOrg, setPreference, settled, startHarness, until, type Harness, type SeededOrg } from './helpers.ts';

let h: Harness;
let A: SeededOrg;
let B: SeededOrg;
let C: SeededOrg;
let catalog: NonNullable<Harness['catalog']>;

beforeAll(async () => {
  h = await startHarness('notifevents', { catalog: true });
  catalog = h.catalog!;
  A = await seedOrg(h, 'org-a');
  B = await seedOrg(h, 'org-b');
  C = await seedOrg(h, 'org-c');
});
afterAll(async () => {
  await h?.close();
});

const rows = async (sql: string, params: unknown[] = []) => (await h.admin.query(sql, params)).rows;
const published = (org: SeededOrg, publishedBy: string | null, courseId = randomUUID(), previousVersionId: string | null = null) =>
  envelope(CoursePublished, { tenantId: org.tenantId, aggregateId: courseId, payload: { courseId, versionId: randomUUID(), previousVersionId, publishedBy } });

describe('contract', () => {
  it('subscribes to exactly the events it handles, and producers route exactly those to its queue', () => {
    const handled = eventHandlers({ env: { PUBLIC_APP_URL: 'http://x' } } as never).map((handler) => handler.event.type).sort();
    expect(subscriptions[NOTIFICATIONS].map((event) => event.type).sort()).toEqual(handled);
    const routed = Object.entries(routes).filter(([, to]) => to.includes(NOTIFICATIONS)).map(([type]) => type);
    expect(routed.sort()).toEqual(handled);
  });

  it('puts every tenant table under forced row-level security', async () => {
    expect(await tenantTablesWithoutRls(h.admin, 'notifications')).toEqual([]);
  });
});

describe('identity.MemberInvited', () => {
  it('emails the invitation once, with a link whose token accepts it; the welcome item follows', async () => {
    const invite = await gql(
      h.identity.url,
      `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id } errors { code } } }`,
      { input: { email: 'newcomer@example.org', displayName: 'Nia Newcomer', roles: ['LEARNER'], idempotencyKey: idem() } },
      { actor: C.actors.admin },
    );
    expect(invite.errors).toBeUndefined();
    // identity answers global ids; its events and tables hold the UUIDs.
    const invitationId = idOf(invite.data!.inviteMember.invitation.id, 'Invitation')!;
    expect(invitationId).not.toBeNull();
    // identity's outbox → notifications' queue, as identity's relay does
    expect(await relay(h, 'identity')).toBeGreaterThanOrEqual(1);
    const [sent] = await until(() => mail(h), (m) => m.some((x) => x.to.includes('newcomer@example.org')));
    const invitation = (await mail(h)).filter((m) => m.to.includes('newcomer@example.org'));
    expect(invitation).toHaveLength(1);
    expect(sent!.subject).toBe("You're invited to join Org C on Lectern");
    expect(sent!.from).toContain('no-reply@lectern.local');
    expect(sent!.text).toContain('Hello Nia Newcomer');
    expect(sent!.html).toContain('Accept the invitation');
    const link = /http:\/\/127\.0\.0\.1:4000\/accept-invitation\?token=(\S+)/.exec(sent!.text);
    expect(link).not.toBeNull();

    // The same event delivered again (a relay crash before marking): nothing more is sent.
    const [e] = await rows(
      `select id, type, version, tenant_id, aggregate_id, occurred_at, payload from identity.outbox where type = 'identity.MemberInvited' and payload->>'invitationId' = $1`,
      [invitationId],
    );
    expect(
      await handle(h, { id: e.id, type: e.type, version: e.version, tenantId: e.tenant_id, aggregateId: e.aggregate_id, occurredAt: new Date(e.occurred_at).toISOString(), payload: e.payload }, `${e.id}-again`),
    ).toBe('duplicate');
    expect((await mail(h)).filter((m) => m.to.includes('newcomer@example.org'))).toHaveLength(1);
    expect(await rows(`select kind, subject, message_id from notifications.emails_sent where dedupe_key like $1`, [`invitation:${invitationId}:%`])).toEqual([
      { kind: 'INVITATION', subject: "You're invited to join Org C on Lectern", message_id: expect.stringContaining('@') },
    ]);
    // No address is stored by notifications.
    expect(JSON.stringify(await rows('select * from notifications.emails_sent'))).not.toContain('newcomer@example.org');

    // The emailed token works: the invitee accepts, identity emits MemberAdded, a welcome item appears.
    const accepted = await gql(
      h.identity.url,
      `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { user { id } } }`,
      { input: { token: decodeURIComponent(link![1]!), password: TEST_PASSWORD, idempotencyKey: idem() } },
      { actor: actor({ kind: 'anonymous', userId: null }) },
    );
    expect(accepted.errors).toBeUndefined();
    const newcomer = idOf(accepted.data!.acceptInvitation.user.id, 'User')!;
    await relay(h, 'identity');
    const me = actor({ userId: newcomer, tenantId: C.tenantId, roles: ['LEARNER'] });
    const inbox = await until(() => ok(h, me, Q.inbox), (d) => d.notifications.edges.length > 0);
    expect(inbox.notifications.edges.map((x: { node: unknown }) => x.node)).toEqual([
      expect.objectContaining({ category: 'MEMBERSHIP', title: 'Welcome to Org C', read: false, course: null }),
    ]);
    expect(inbox.unreadNotificationCount).toBe(1);
  });

  it('sends nothing when the invitation is no longer pending', async () => {
    const event = envelope(MemberInvited, {
      tenantId: C.tenantId,
      payload: { membershipId: randomUUID(), userId: randomUUID(), invitationId: randomUUID(), roles: ['LEARNER'], invitedBy: null },
    });
    const before = (await mail(h)).length;
    expect(await handle(h, event)).toBe('processed');
    expect((await mail(h)).length).toBe(before);
    expect(await rows('select 1 from notifications.emails_sent where dedupe_key like $1', [`invitation:${event.payload.invitationId}:%`])).toEqual([]);
  });
});

describe('identity.MemberAdded', () => {
  it('puts a welcome item in the new member’s inbox once, however often the event arrives', async () => {
    const event = envelope(MemberAdded, { tenantId: B.tenantId, payload: { membershipId: randomUUID(), userId: B.learner2.id, roles: ['LEARNER'], via: 'ADDED' } });
    expect(await handle(h, event)).toBe('processed');
    expect(await handle(h, event, `${event.id}-redelivered`)).toBe('duplicate');
    const inbox = await ok(h, B.actors.learner2, Q.inbox);
    expect(inbox.notifications.edges).toHaveLength(1);
    expect(inbox.notifications.edges[0].node).toMatchObject({ category: 'MEMBERSHIP', title: 'Welcome to Org B', body: 'You were added to Org B. Its courses are waiting for you.' });
  });
});

describe('catalog.CoursePublished', () => {
  it('tells every active member but the publisher, in the inbox and by email as each chose', async () => {
    // learner: email at once; learner2: email only (in-app off), weekly digest (the default);
    // admin: in-app only; instructor publishes.
    await setPreference(h, A.actors.learner, 'COURSES', 'EMAIL', 'IMMEDIATE');
    await setPreference(h, A.actors.learner2, 'COURSES', 'IN_APP', 'OFF');
    await setPreference(h, A.actors.admin, 'COURSES', 'EMAIL', 'OFF');
    const mailBefore = (await mail(h)).length;
    const event = published(A, A.instructor.id);
    expect(await handle(h, event)).toBe('processed');

    const items = await rows(
      `select n.user_id, n.in_app, n.title, n.link, n.course_id, d.frequency as pending
         from notifications.notifications n left join notifications.digest_items d on d.notification_id = n.id
        where n.source_event_id = $1`,
      [event.id],
    );
    const byUser = new Map(items.map((r) => [r.user_id, r]));
    expect(byUser.has(A.instructor.id)).toBe(false);
    expect(byUser.get(A.admin.id)).toMatchObject({ in_app: true, pending: null, title: 'New course in Org A' });
    expect(byUser.get(A.learner.id)).toMatchObject({ in_app: true, pending: null, link: `http://127.0.0.1:4000/courses/${event.payload.courseId}`, course_id: event.payload.courseId });
    expect(byUser.get(A.learner2.id)).toMatchObject({ in_app: false, pending: 'WEEKLY' });
    expect(items).toHaveLength(3);

    const emails = (await mail(h)).slice(mailBefore);
    expect(emails.map((m) => m.to)).toEqual([A.learner.email]);
    expect(emails[0]!.subject).toBe('New course in Org A');
    expect(emails[0]!.text).toContain(`Open it: http://127.0.0.1:4000/courses/${event.payload.courseId}`);

    // The learner sees it (with the course reference); learner2 (in-app off) does not.
    const inbox = await ok(h, A.actors.learner, Q.inbox);
    expect(inbox.notifications.edges.map((x: { node: { course: unknown } }) => x.node.course)).toContainEqual({ id: globalId('Course', event.payload.courseId) });
    expect((await ok(h, A.actors.learner2, Q.inbox)).notifications.edges.filter((x: { node: { category: string } }) => x.node.category === 'COURSES')).toEqual([]);

    // Delivered again: nothing changes.
    expect(await handle(h, event, `${event.id}-again`)).toBe('duplicate');
    expect(await rows('select count(*)::int as n from notifications.notifications where source_event_id = $1', [event.id])).toEqual([{ n: 3 }]);
    expect((await mail(h)).length).toBe(mailBefore + 1);
  });

  it('announces a course once: not a new version of it, nor its republication', async () => {
    const courseId = randomUUID();
    const first = published(A, A.instructor.id, courseId);
    await handle(h, first);
    const newVersion = published(A, A.instructor.id, courseId, randomUUID());
    const republished = published(A, A.admin.id, courseId);
    expect(await handle(h, newVersion)).toBe('processed');
    expect(await handle(h, republished)).toBe('processed');
    const counts = await rows('select source_event_id, count(*)::int as n from notifications.notifications where course_id = $1 group by 1', [courseId]);
    expect(counts).toEqual([{ source_event_id: first.id, n: 3 }]);
  });

  it('reaches members from a course published in catalog, through catalog’s outbox', async () => {
    const course = await seedCourse(catalog.deps.orm, { tenantId: B.tenantId, authorId: B.instructor.id, title: 'Safety first', published: true });
    expect(await relay(h, 'catalog')).toBeGreaterThanOrEqual(1);
    const [row] = await until(
      () => rows('select count(*)::int as n from notifications.notifications where course_id = $1', [course.id]),
      (r) => r[0]?.n === 3,
    );
    expect(row).toEqual({ n: 3 }); // admin, learner, learner2; not the instructor who published
    const learner = await ok(h, B.actors.learner, Q.inbox);
    expect(learner.notifications.edges[0].node).toMatchObject({ title: 'New course in Org B', course: { id: globalId('Course', course.id) } });
  });
});

describe('a learner’s own courses (enrollment.LearnerEnrolled, learning.CourseCompleted)', () => {
  const enrolledEvent = (org: SeededOrg, learnerId: string, courseId: string, promotedFromWaitlist: boolean) =>
    envelope(LearnerEnrolled, {
      tenantId: org.tenantId,
      payload: { enrollmentId: randomUUID(), learnerId, offeringId: randomUUID(), cohortId: randomUUID(), courseId, courseVersionId: randomUUID(), promotedFromWaitlist },
    });
  const itemsOf = (eventId: string) =>
    rows(
      `select n.user_id, n.category, n.in_app, n.title, n.course_id, d.frequency as pending
         from notifications.notifications n left join notifications.digest_items d on d.notification_id = n.id
        where n.source_event_id = $1`,
      [eventId],
    );

  it('tells the learner their enrollment is confirmed, once, in the inbox and by email', async () => {
    const courseId = randomUUID();
    const event = enrolledEvent(C, C.learner.id, courseId, false);
    const mailBefore = (await mail(h)).length;
    expect(await handle(h, event)).toBe('processed');
    expect(await handle(h, event, `${event.id}-again`)).toBe('duplicate');
    expect(await itemsOf(event.id)).toEqual([
      { user_id: C.learner.id, category: 'ENROLLMENT_CONFIRMED', in_app: true, title: 'You are enrolled in a course', course_id: courseId, pending: null },
    ]);
    const emails = (await mail(h)).slice(mailBefore);
    expect(emails.map((m) => [m.to, m.subject])).toEqual([[C.learner.email, 'You are enrolled in a course']]);
    expect(emails[0]!.text).toContain(`http://127.0.0.1:4000/courses/${courseId}`);
    const inbox = await ok(h, C.actors.learner, Q.inbox, { first: 1, filter: { categories: ['ENROLLMENT_CONFIRMED'] } });
    expect(inbox.notifications.edges[0].node).toMatchObject({
      category: 'ENROLLMENT_CONFIRMED',
      link: `http://127.0.0.1:4000/courses/${courseId}`,
      course: { id: globalId('Course', courseId) },
    });
  });

  it('names the course in the email as catalog calls it when the email goes out', async () => {
    const course = await seedCourse(catalog.deps.orm, { tenantId: C.tenantId, authorId: C.admin.id, title: 'Forklift basics', published: true });
    const event = enrolledEvent(C, C.learner.id, course.id, false);
    const mailBefore = (await mail(h)).length;
    expect(await handle(h, event)).toBe('processed');
    const emails = (await mail(h)).slice(mailBefore);
    expect(emails.map((m) => [m.to, m.subject])).toEqual([[C.learner.email, 'You are enrolled in “Forklift basics”']]);
    expect(emails[0]!.text).toContain('Your seat in “Forklift basics” is confirmed.');
    // The inbox item is stored without it (the gateway names the course at read time).
    expect((await itemsOf(event.id))[0]).toMatchObject({ title: 'You are enrolled in a course' });
  });

  it('names the course as catalog shows it when read through the gateway (@requires course { title })', async () => {
    const courseId = randomUUID();
    const event = enrolledEvent(C, C.learner2.id, courseId, true);
    await handle(h, event);
    const [node] = (await ok(h, C.actors.learner2, Q.inbox, { first: 1 })).notifications.edges.map((e: { node: { id: string } }) => e.node);
    expect(node).toMatchObject({ category: 'WAITLIST_PROMOTED', title: 'A seat opened up for you in a course' });
    // What the gateway sends once catalog answered the course's title for this reader.
    const withTitle = { __typename: 'Notification', id: node!.id, course: { title: 'Safety first' } };
    const courseHidden = { __typename: 'Notification', id: node!.id, course: null };
    expect((await ok(h, C.actors.learner2, Q.entities, { representations: [withTitle, courseHidden] }))._entities).toEqual([
      {
        __typename: 'Notification',
        id: node!.id,
        category: 'WAITLIST_PROMOTED',
        title: 'A seat opened up for you in “Safety first”',
        body: 'You were on the waitlist for “Safety first” and now hold a seat. You can start whenever you are ready.',
        course: { id: globalId('Course', courseId) },
      },
      expect.objectContaining({ title: 'A seat opened up for you in a course' }),
    ]);
    // Nobody else gets it back, title or not.
    expect((await ok(h, C.actors.learner, Q.entities, { representations: [withTitle] }))._entities).toEqual([null]);
  });

  it('tells the learner they completed a course, as they chose (email in a digest, in-app off)', async () => {
    await setPreference(h, B.actors.learner, 'COURSE_COMPLETED', 'EMAIL', 'DAILY');
    await setPreference(h, B.actors.learner, 'COURSE_COMPLETED', 'IN_APP', 'OFF');
    const courseId = randomUUID();
    const event = envelope(CourseCompleted, { tenantId: B.tenantId, payload: { enrollmentId: randomUUID(), learnerId: B.learner.id, courseId, courseVersionId: randomUUID() } });
    const mailBefore = (await mail(h)).length;
    expect(await handle(h, event)).toBe('processed');
    expect(await handle(h, event, `${event.id}-again`)).toBe('duplicate');
    expect(await itemsOf(event.id)).toEqual([
      { user_id: B.learner.id, category: 'COURSE_COMPLETED', in_app: false, title: 'You completed a course', course_id: courseId, pending: 'DAILY' },
    ]);
    expect((await mail(h)).length).toBe(mailBefore);
    expect((await ok(h, B.actors.learner, Q.inbox, { filter: { categories: ['COURSE_COMPLETED'] } })).notifications.totalCount).toBe(0);
    // Another learner with the defaults: inbox and email at once.
    const other = envelope(CourseCompleted, { tenantId: B.tenantId, payload: { enrollmentId: randomUUID(), learnerId: B.learner2.id, courseId, courseVersionId: randomUUID() } });
    await handle(h, other);
    expect((await mail(h)).slice(mailBefore).map((m) => [m.to, m.subject])).toEqual([[B.learner2.email, 'You completed a course']]);
    expect((await ok(h, B.actors.learner2, Q.inbox, { filter: { categories: ['COURSE_COMPLETED'] } })).notifications.nodes).toHaveLength(1);
  });

  it('tells the learner their certificate is ready, linking to it', async () => {
    const courseId = randomUUID();
    const certificateId = randomUUID();
    const event = envelope(CertificateIssued, { tenantId: B.tenantId, payload: { certificateId, learnerId: B.learner2.id, courseId, enrollmentId: randomUUID() } });
    const mailBefore = (await mail(h)).length;
    expect(await handle(h, event)).toBe('processed');
    expect(await handle(h, event, `${event.id}-again`)).toBe('duplicate');
    expect(await itemsOf(event.id)).toEqual([
      { user_id: B.learner2.id, category: 'CERTIFICATE_ISSUED', in_app: true, title: 'Your certificate for a course is ready', course_id: courseId, pending: null },
    ]);
    expect((await mail(h)).slice(mailBefore).map((m) => [m.to, m.subject])).toEqual([[B.learner2.email, 'Your certificate for a course is ready']]);
    const inbox = await ok(h, B.actors.learner2, `{ notifications(first: 5, filter: { categories: [CERTIFICATE_ISSUED] }) { nodes { link } } }`);
    expect(inbox.notifications.nodes.map((n: { link: string }) => n.link)).toEqual([expect.stringMatching(new RegExp(`/certificates/${certificateId}$`))]);
    expect(routes[CertificateIssued.type]).toEqual([NOTIFICATIONS]);
  });

  it('reaches the learner from enrollment’s and learning’s relays (routed by the subscriptions contract)', () => {
    expect(routes[LearnerEnrolled.type]).toContain(NOTIFICATIONS);
    expect(routes[CourseCompleted.type]).toContain(NOTIFICATIONS);
  });
});

describe('tenant isolation in handlers', () => {
  it('keeps an organization’s event inside it: the other sees nothing, by list or count', async () => {
    const event = published(A, null);
    await handle(h, event);
    for (const who of Object.values(B.actors)) {
      const inbox = await ok(h, who, Q.inbox);
      expect(inbox.notifications.edges.some((e: { node: { course: { id: string } | null } }) => e.node.course?.id === globalId('Course', event.payload.courseId))).toBe(false);
    }
    // The same person signed in to B does not see what they got in A.
    const aLearnerInB = actor({ userId: A.learner.id, tenantId: B.tenantId, roles: ['LEARNER'] });
    expect(await ok(h, aLearnerInB, Q.inbox)).toMatchObject({ notifications: { edges: [] }, unreadNotificationCount: 0 });
  });

  it('lets a handler’s unit of work for A neither read nor write B’s rows (RLS in workers)', async () => {
    const orm = h.worker!.deps.orm;
    const seenFromA = await inTenant(orm, A.tenantId, async (uow) =>
      (await uow.em()).execute<{ tenant_id: string }[]>('select distinct tenant_id from notifications'),
    );
    expect(seenFromA.map((r) => r.tenant_id)).toEqual([A.tenantId]);
    await expect(
      inTenant(orm, A.tenantId, (uow) =>
        uow.write((em) =>
          em.execute(
            `insert into notifications (id, tenant_id, user_id, category, title, source_event_id) values (?, ?, ?, 'SYSTEM', 'planted', ?)`,
            [randomUUID(), B.tenantId, B.learner.id, randomUUID()],
          ),
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    const updated = await inTenant(orm, A.tenantId, (uow) =>
      uow.write((em) => em.execute<{ id: string }[]>('update notifications set read_at = now() where user_id = ? returning id', [B.learner.id])),
    );
    expect(updated).toEqual([]);
    expect(await rows(`select count(*)::int as n from notifications.notifications where tenant_id = $1 and title = 'planted'`, [B.tenantId])).toEqual([{ n: 0 }]);
  });

  it('dead-letters an event of no organization instead of running it unscoped', async () => {
    const event = { ...published(A, null), tenantId: null };
    await eventsQueue(h).add(event.type, event, { jobId: event.id, attempts: 1 });
    const { state, job } = await settled(eventsQueue(h), event.id);
    expect(state).toBe('failed');
    expect(job.failedReason).toMatch(/has no organization/);
  });
});
