// The graph as client libraries meet it, through the gateway with every worker running:
//
// 1. Republishing a course does not break a running offering: the offering keeps its pinned
//    version (Offering.courseVersion), its learners see and record progress against it, the
//    course's new version is refused for them until an ORG_ADMIN moves the offering (an audited
//    action), and then their progress carries over to the lessons that still exist.
// 2. Every object a client may refetch is a Node: Apollo Client's InMemoryCache with no
//    typePolicies normalises every one of them (`<Type>:<id>`), and a Relay-style `node(id:)`
//    refetch answers each of them; another organization gets null for all of them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildClientSchema, getIntrospectionQuery, isObjectType, type IntrospectionQuery } from 'graphql';
import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { globalId, idOf } from '@lectern/kernel/ids';
import { bullPrefix, workerConnection } from '@lectern/kernel/queues';
import { gql, idem, until } from '@lectern/testkit';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { seedCertificate } from '@lectern/certification/testing';
import { startStack, type Stack } from './src/harness.ts';

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const t = { admin: '', learner: '', bAdmin: '' };
let course: Awaited<ReturnType<typeof seedCourse>>;
const ids = { course: '', offering: '', cohort: '', v1: '', v2: '', keptV1: '', removedV1: '', keptV2: '', addedV2: '', rosterImport: '' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read deep into ad-hoc answers
type Json = any;

async function call(query: string, variables: Record<string, unknown>, token: string): Promise<Json> {
  const r = await gql(stack.url, query, variables, { token });
  expect(r.errors, r.body).toBeUndefined();
  return r.data;
}

async function login(email: string, slug: string) {
  const r = await gql(stack.url, `mutation($i: LoginInput!) { login(input: $i) { accessToken errors { code } } }`, { i: { email, password: TEST_PASSWORD, organizationSlug: slug, idempotencyKey: idem() } });
  expect(r.data?.login?.accessToken, r.body).toBeTruthy();
  return r.data!.login.accessToken as string;
}

const beat = (lessonId: string, position = 30) => call(
  `mutation($i: RecordProgressInput!) { recordProgress(input: $i) { accepted errors { code } } }`,
  { i: { lessonId, position, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-e2e', idempotencyKey: idem() } },
  t.learner,
);

const MY_PROGRESS = `query($id: ID!) { course(id: $id) { myProgress { id courseVersion { id number } lessons { id status lesson { id title lineageId } } } } }`;

beforeAll(async () => {
  stack = await startStack('graph', {}, { workers: true });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'graph-a');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'graph-b');
  course = await seedCourse(stack.catalog.deps.orm, {
    tenantId: A.org.id,
    authorIds: [A.admin.id, A.instructor.id],
    title: 'Forklift safety',
    published: true,
    modules: [{ title: 'Basics', lessons: [{ title: 'Walkaround', kind: 'TEXT' }, { title: 'Old brakes', kind: 'TEXT' }] }],
  });
  t.admin = await login(A.admin.email, 'graph-a');
  t.learner = await login(A.learner.email, 'graph-a');
  t.bAdmin = await login(B.admin.email, 'graph-b');
  ids.course = globalId('Course', course.id);
  const now = Date.now();
  const offering = await call(`mutation($i: CreateOfferingInput!) { createOffering(input: $i) { offering { id courseVersion { id } } errors { code } } }`, {
    i: { courseId: ids.course, startsAt: new Date(now - 3_600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() },
  }, t.admin);
  expect(offering.createOffering.errors).toEqual([]);
  ids.offering = offering.createOffering.offering.id;
  ids.v1 = offering.createOffering.offering.courseVersion.id;
  const cohort = await call(`mutation($i: CreateCohortInput!) { createCohort(input: $i) { cohort { id } errors { code } } }`, {
    i: { offeringId: ids.offering, name: 'Morning', capacity: 10, instructorIds: [globalId('User', A.instructor.id)], idempotencyKey: idem() },
  }, t.admin);
  expect(cohort.createCohort.errors).toEqual([]);
  ids.cohort = cohort.createCohort.cohort.id;
  const enrolled = await call(`mutation($i: EnrollLearnerInput!) { enrollLearner(input: $i) { enrollment { id status } errors { code } } }`, { i: { cohortId: ids.cohort, idempotencyKey: idem() } }, t.learner);
  expect(enrolled.enrollLearner.enrollment.status).toBe('ACTIVE');
  [ids.keptV1, ids.removedV1] = course.modules[0]!.lessons.map((l) => globalId('Lesson', l.id)) as [string, string];
  // Learning knows the enrollment once enrollment's event arrived.
  await until(async () => (await beat(ids.keptV1)).recordProgress.accepted, Boolean, 15_000);
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe('republishing a course while an offering runs it', () => {
  it('keeps the offering, its learners and their progress on the pinned version until an admin moves it', async () => {
    // The learner's progress on v1 is recorded.
    await until(async () => (await call(MY_PROGRESS, { id: ids.course }, t.learner)).course.myProgress?.lessons.find((l: Json) => l.lesson.id === ids.keptV1)?.status, (s) => s === 'COMPLETED' || s === 'IN_PROGRESS', 15_000);

    // The author drafts v2 (one lesson removed, one added) and publishes it.
    const removed = await call(`mutation($i: RemoveLessonInput!) { removeLesson(input: $i) { errors { code } } }`, { i: { lessonId: ids.removedV1, idempotencyKey: idem() } }, t.admin);
    expect(removed.removeLesson.errors).toEqual([]);
    const draft = await call(`query($id: ID!) { course(id: $id) { draftVersion { id modules { id lessons { id title } } } } }`, { id: ids.course }, t.admin);
    const moduleV2 = draft.course.draftVersion.modules[0].id;
    const added = await call(`mutation($i: AddLessonInput!) { addLesson(input: $i) { lesson { id } errors { code } } }`, {
      i: { moduleId: moduleV2, title: 'New brakes', kind: 'TEXT', body: 'Hydraulic.', idempotencyKey: idem() },
    }, t.admin);
    expect(added.addLesson.errors).toEqual([]);
    ids.addedV2 = added.addLesson.lesson.id;
    const published = await call(`mutation($i: PublishCourseInput!) { publishCourse(input: $i) { course { publishedVersion { id number } } errors { code } } }`, { i: { courseId: ids.course, idempotencyKey: idem() } }, t.admin);
    expect(published.publishCourse.errors).toEqual([]);
    expect(published.publishCourse.course.publishedVersion.number).toBe(2);
    ids.v2 = published.publishCourse.course.publishedVersion.id;
    ids.keptV2 = draft.course.draftVersion.modules[0].lessons.find((l: Json) => l.title === 'Walkaround').id;

    // The offering still runs v1, and resolves its structure, the removed lesson included.
    const offering = await call(`query($id: ID!) { offering(id: $id) { courseVersion { id number status modules { lessons { id title } } } course { publishedVersion { number } } } }`, { id: ids.offering }, t.learner);
    expect(offering.offering.courseVersion).toMatchObject({ id: ids.v1, number: 1, status: 'SUPERSEDED' });
    expect(offering.offering.courseVersion.modules[0].lessons.map((l: Json) => l.id)).toEqual([ids.keptV1, ids.removedV1]);
    expect(offering.offering.course.publishedVersion.number).toBe(2);

    // The learner's progress still resolves its lessons (v1's), without errors.
    const progress = await call(MY_PROGRESS, { id: ids.course }, t.learner);
    expect(progress.course.myProgress.courseVersion.id).toBe(ids.v1);
    expect(progress.course.myProgress.lessons.map((l: Json) => l.lesson.title)).toEqual(['Walkaround', 'Old brakes']);

    // Progress is recorded against v1's lessons; v2's new lesson is not theirs yet.
    expect((await beat(ids.removedV1)).recordProgress).toEqual({ accepted: true, errors: [] });
    expect((await beat(ids.addedV2)).recordProgress).toEqual({ accepted: false, errors: [{ code: 'LESSON_NOT_IN_VERSION' }] });

    // An ORG_ADMIN moves the offering to v2, with a reason; the change is on record.
    const moved = await call(`mutation($i: ChangeOfferingVersionInput!) { changeOfferingVersion(input: $i) { offering { courseVersion { id } versionChanges { fromVersion { number } toVersion { number } changedBy { id } reason } } errors { code } } }`, {
      i: { offeringId: ids.offering, courseVersionId: ids.v2, reason: 'Brakes chapter rewritten', idempotencyKey: idem() },
    }, t.admin);
    expect(moved.changeOfferingVersion.errors).toEqual([]);
    expect(moved.changeOfferingVersion.offering.courseVersion.id).toBe(ids.v2);
    expect(moved.changeOfferingVersion.offering.versionChanges).toEqual([
      { fromVersion: { number: 1 }, toVersion: { number: 2 }, changedBy: { id: globalId('User', A.admin.id) }, reason: 'Brakes chapter rewritten' },
    ]);
    const learnerMove = await gql(stack.url, `mutation($i: ChangeOfferingVersionInput!) { changeOfferingVersion(input: $i) { errors { code } } }`, {
      i: { offeringId: ids.offering, courseVersionId: ids.v1, reason: 'no', idempotencyKey: idem() },
    }, { token: t.learner });
    expect(learnerMove.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Learning follows: the learner is on v2, the kept lesson's progress carried over to its v2 copy.
    const after = await until(async () => (await call(MY_PROGRESS, { id: ids.course }, t.learner)).course.myProgress, (p: Json) => p?.courseVersion.id === ids.v2, 15_000);
    const kept = after.lessons.find((l: Json) => l.lesson.id === ids.keptV2);
    expect(kept.status).not.toBe('NOT_STARTED');
    expect(after.lessons.map((l: Json) => l.lesson.title)).toEqual(['Walkaround', 'New brakes']);
    expect((await beat(ids.addedV2)).recordProgress).toEqual({ accepted: true, errors: [] });
    expect((await beat(ids.removedV1)).recordProgress.errors).toEqual([{ code: 'LESSON_NOT_IN_VERSION' }]);
  }, 90_000);
});

describe('one graph clients can cache', () => {
  /** Every object type implementing Node in the API schema the gateway serves. */
  let nodeTypes: string[];

  beforeAll(async () => {
    const r = await gql(stack.url, getIntrospectionQuery(), {}, { token: t.admin });
    const schema = buildClientSchema(r.data as unknown as IntrospectionQuery);
    nodeTypes = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node'))
      .map((type) => type.name)
      .sort();
    expect(nodeTypes.length).toBeGreaterThan(15);

    // Objects of the remaining types: an invitation, an API key, a roster import with a
    // rejected row, a completion policy, a live session with its chat and moderation log, a quiz
    // with its bank, question, attempt and accommodation, and a dead letter in a queue's failed set.
    expect((await call(`mutation($i: InviteMemberInput!) { inviteMember(input: $i) { errors { code } } }`, { i: { email: 'newcomer@graph-a.example', roles: ['LEARNER'], idempotencyKey: idem() } }, t.admin)).inviteMember.errors).toEqual([]);
    expect((await call(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { errors { code } } }`, { i: { name: 'LRS', scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, t.admin)).createApiKey.errors).toEqual([]);
    const imported = await call(`mutation($i: ImportRosterInput!) { importRoster(input: $i) { rosterImport { id } errors { code } } }`, {
      i: { offeringId: ids.offering, cohortId: ids.cohort, csv: `email\n${A.learner2.email}\nnobody@nowhere.example`, idempotencyKey: idem() },
    }, t.admin);
    ids.rosterImport = imported.importRoster.rosterImport.id;
    await until(async () => (await call(`query($id: ID!) { rosterImport(id: $id) { status } }`, { id: ids.rosterImport }, t.admin)).rosterImport.status, (s) => s === 'COMPLETED', 15_000);
    // A live session of the offering with a chat message and a moderation action (live learns
    // the offering's cohorts from enrollment's events first).
    const scheduled = await until(async () => {
      const r = await gql(stack.url, `mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } errors { code } } }`, {
        i: { offeringId: ids.offering, title: 'Forklift Q&A', startsAt: new Date(Date.now() + 3_600_000).toISOString(), endsAt: new Date(Date.now() + 7_200_000).toISOString(), joinUrl: 'https://meet.example.com/forklift', idempotencyKey: idem() },
      }, { token: t.admin });
      return r.data?.scheduleSession?.session?.id as string | undefined;
    }, Boolean, 15_000);
    expect((await call(`mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { errors { code } } }`, { i: { sessionId: scheduled, body: 'Welcome', idempotencyKey: idem() } }, t.admin)).postChatMessage.errors).toEqual([]);
    expect((await call(`mutation($i: MuteParticipantInput!) { muteParticipant(input: $i) { errors { code } } }`, { i: { sessionId: scheduled, userId: globalId('User', A.learner.id), minutes: 1, idempotencyKey: idem() } }, t.admin)).muteParticipant.errors).toEqual([]);
    // Assessment: a bank with a question, a quiz of the course, the learner's attempt at it
    // (assessment learns the roster from enrollment's events first) and an accommodation.
    const bankId = (await call(`mutation($i: CreateQuestionBankInput!) { createQuestionBank(input: $i) { bank { id } } }`, { i: { name: 'Forklift', idempotencyKey: idem() } }, t.admin)).createQuestionBank.bank.id;
    const questionId = (await call(`mutation($i: CreateQuestionInput!) { createQuestion(input: $i) { question { id } } }`, {
      i: { bankId, question: { type: 'TRUE_FALSE', prompt: 'Check the forks first?', correctBoolean: true }, idempotencyKey: idem() },
    }, t.admin)).createQuestion.question.id;
    const quizId = (await call(`mutation($i: CreateQuizInput!) { createQuiz(input: $i) { quiz { id } errors { code } } }`, { i: { courseId: ids.course, title: 'Forklift check', questionIds: [questionId], published: true, idempotencyKey: idem() } }, t.admin)).createQuiz.quiz.id;
    await until(async () => (await gql(stack.url, `mutation($i: StartAttemptInput!) { startAttempt(input: $i) { attempt { id } } }`, { i: { quizId, idempotencyKey: idem() } }, { token: t.learner })).data?.startAttempt?.attempt?.id as string | undefined, Boolean, 15_000);
    expect((await call(`mutation($i: SetAccommodationInput!) { setAccommodation(input: $i) { errors { code } } }`, { i: { learnerId: globalId('User', A.learner.id), quizId, extraAttempts: 1, idempotencyKey: idem() } }, t.admin)).setAccommodation.errors).toEqual([]);
    // Certification: a certificate of the learner's (the real evaluation of a completion; no worker issues it here).
    await seedCertificate(stack.certification.deps.orm, { tenantId: A.org.id, learnerId: A.learner.id, courseId: idOf(ids.course, 'Course')! });
    // Media: a video whose upload has begun.
    expect((await call(`mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { errors { code } } }`, { i: { title: 'Forklift walkaround', filename: 'walkaround.mp4', sizeBytes: 1000, idempotencyKey: idem() } }, t.admin)).createVideoUpload.errors).toEqual([]);
    const prefix = bullPrefix(stack.db.env.REDIS_PREFIX!);
    const connection = workerConnection('redis://127.0.0.1:6379');
    // learning's job queue: no process of the stack consumes it (learning runs no jobs yet), so
    // this stand-in worker is the one that takes the job, and fails it for good.
    const queue = new Queue('jobs-learning', { connection, prefix });
    const failing = new Worker('jobs-learning', async () => {
      throw new UnrecoverableError('the job is broken');
    }, { connection, prefix, autorun: false });
    const job = await queue.add('recount', { tenantId: A.org.id }, { jobId: `graph-dead-letter-${Date.now()}`, attempts: 1 });
    const failed = new Promise<void>((resolve) => failing.on('failed', (j) => j?.id === job.id && resolve()));
    void failing.run();
    await failed;
    await failing.close();
    await queue.close();
    connection.disconnect();
  }, 60_000);

  /** Queries a client's screens send, covering every Node type (learner and admin). */
  const ADMIN_SCREENS = `
    query AdminScreens($course: ID!, $offering: ID!, $import: ID!) {
      rosterImport(id: $import) { id status rows(first: 5) { totalCount nodes { id rowNumber status reason } } }
      me { id kind organization { id name } user { id displayName } memberships { id roles organization { id slug } } pendingInvitations { id } unreadNotificationCount }
      members(first: 20) { totalCount nodes { id roles status user { id displayName } invitation { id email status } } pageInfo { endCursor hasNextPage } }
      apiKeys(first: 5) { nodes { id name scopes } }
      course(id: $course) {
        id title authors { id displayName }
        publishedVersion { id number modules { id title lessons { id title kind video { id } quiz { id } } } }
        completionPolicy { id courseRule }
        offerings(first: 5) { totalCount nodes { id courseVersion { id number } versionChanges { id reason } } }
        quizzes { id title questions { question { id bank { id name } currentVersion { id number } } } accommodations { id extraAttempts } attempts(first: 5) { nodes { id status } } }
      }
      offering(id: $offering) {
        id
        cohorts(first: 5) { totalCount nodes { id name instructors { id displayName } enrollments(first: 10) { nodes { id status learner { id displayName } progress { id percent lessons { id status } } } } } }
        sessions(first: 5) { nodes { id title status messages(last: 5) { nodes { id body author { id displayName } } } moderationLog(first: 5) { nodes { id action target { id } } } } }
      }
      queueHealth { queues { id queue failed } deadLetters(first: 5) { totalCount nodes { id queue jobName error } } }
      notificationPreferences { id category channel frequency }
      videoAssets(first: 5) { totalCount nodes { id title status captions { language } } }
      certificates(first: 5) { totalCount nodes { id status learner { id displayName } course { id title certificateRule { enabled } } } }
    }`;
  const LEARNER_SCREENS = `
    query LearnerScreens($course: ID!) {
      me { id user { id displayName } unreadNotificationCount }
      notifications(first: 10) { totalCount nodes { id category title read } }
      course(id: $course) { id myProgress { id percent lessons { id status lesson { id title } } } }
    }`;

  const adminVars = () => ({ course: ids.course, offering: ids.offering, import: ids.rosterImport });

  it('normalises every Node type in an InMemoryCache without typePolicies', async () => {
    const warnings: unknown[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => void warnings.push(args));
    const error = vi.spyOn(console, 'error').mockImplementation((...args) => void warnings.push(args));
    try {
      const client = (token: string) => new ApolloClient({ link: new HttpLink({ uri: stack.url, headers: { authorization: `Bearer ${token}` } }), cache: new InMemoryCache() });
      const admin = client(t.admin);
      await admin.query({ query: apolloGql(ADMIN_SCREENS), variables: adminVars() });
      const learner = client(t.learner);
      await until(async () => (await learner.query({ query: apolloGql(LEARNER_SCREENS), variables: { course: ids.course }, fetchPolicy: 'network-only' })).data as Json, (d: Json) => d.notifications.totalCount > 0, 15_000);

      const extract = (c: typeof admin) => c.cache.extract() as Record<string, Json>;
      const cached = new Set([...Object.keys(extract(admin)), ...Object.keys(extract(learner))].map((key) => key.split(':')[0]!));
      const missing = nodeTypes.filter((type) => !cached.has(type));
      expect(missing, `Node types no screen query normalised: ${missing.join(', ')}`).toEqual([]);
      // Every normalised object is keyed by its own type and id: Apollo needed no configuration.
      for (const c of [admin, learner]) {
        for (const [key, value] of Object.entries(extract(c))) {
          if (key === 'ROOT_QUERY' || key === 'ROOT_MUTATION') continue;
          expect(key).toBe(`${(value as Json).__typename}:${(value as Json).id}`);
        }
      }
      expect(warnings).toEqual([]);
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  }, 60_000);

  it('refetches every Node type by node(id:) and nodes(ids:), and shows another organization none of them', async () => {
    // One object of every Node type, from the screens above.
    const found = new Map<string, { id: string; token: string }>();
    const collect = (value: unknown, token: string) => {
      if (Array.isArray(value)) for (const v of value) collect(v, token);
      else if (value && typeof value === 'object') {
        const o = value as Record<string, unknown>;
        if (typeof o.__typename === 'string' && typeof o.id === 'string' && nodeTypes.includes(o.__typename) && !found.has(o.__typename)) found.set(o.__typename, { id: o.id, token });
        for (const v of Object.values(o)) collect(v, token);
      }
    };
    const typed = async (query: string, variables: Record<string, unknown>, token: string) => {
      const r = await gql(stack.url, addTypename(query), variables, { token });
      expect(r.errors, r.body).toBeUndefined();
      collect(r.data, token);
    };
    await typed(ADMIN_SCREENS, adminVars(), t.admin);
    await typed(LEARNER_SCREENS, { course: ids.course }, t.learner);
    const missing = nodeTypes.filter((type) => !found.has(type));
    expect(missing).toEqual([]);

    for (const [type, { id, token }] of found) {
      const one = await gql(stack.url, `query($id: ID!) { node(id: $id) { __typename id } }`, { id }, { token });
      expect(one.errors, `${type}: ${one.body}`).toBeUndefined();
      expect(one.data!.node, type).toEqual({ __typename: type, id });
      // Queue counts are the platform's, not an organization's: every operator sees the same.
      if (type === 'QueueCounts') continue;
      const foreign = await gql(stack.url, `query($id: ID!) { node(id: $id) { __typename id } }`, { id }, { token: t.bAdmin });
      expect(foreign.data?.node ?? null, `${type} leaked to another organization: ${foreign.body}`).toBeNull();
    }
    const all = [...found.values()].filter((f) => f.token === t.admin).map((f) => f.id);
    const many = await call(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [...all, globalId('Course', '00000000-0000-4000-8000-000000000000')] }, t.admin);
    expect(many.nodes).toEqual([...all.map((id) => ({ id })), null]);
    expect((await call(`query { node(id: "not-an-id") { id } }`, {}, t.admin)).node).toBeNull();
  }, 60_000);
});

/** Adds __typename to every selection set, as Apollo Client does. */
function addTypename(query: string): string {
  return query.replace(/\{/g, '{ __typename ');
}
