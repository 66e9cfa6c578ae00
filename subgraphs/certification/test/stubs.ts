// A stand-in for identity's and catalog's internal endpoints, for certification's integration
// tests (the real subgraphs do not run there; the e2e tests run them all). One HTTP server on a
// free port answers, from maps the test fills and only for the asking organization, like the
// real ones:
//   - ORGANIZATION_PROFILE_PATH (identity): the organization's name;
//   - CONTACTS_PATH (identity): members' names and emails;
//   - COURSE_STRUCTURE_PATH (catalog): courses, and published versions with their quizzes.
// It does not verify the caller's credential (identity's and catalog's own tests do). A test may
// hold the contacts answer (`holdContacts`) to catch the worker mid-job, take one endpoint down
// (`failing`) or the whole stand-in (`down`).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COURSE_STRUCTURE_PATH, courseStructureRequest, type CourseStructure } from '@lectern/contracts/catalog';
import { CONTACTS_PATH, contactsRequest, ORGANIZATION_PROFILE_PATH, organizationProfileRequest } from '@lectern/contracts/identity';

export interface StubVersion {
  versionId: string;
  courseId: string;
  title: string;
  description: string;
  quizIds: string[];
}

export interface Stubs {
  /** The URL to give as both IDENTITY_URL and CATALOG_URL (their internal endpoints share the origin). */
  url: string;
  organization(tenantId: string, name: string): void;
  member(tenantId: string, userId: string, displayName: string, email: string): void;
  removeMember(tenantId: string, userId: string): void;
  /** A course with one published version (its quizzes as QUIZ lessons); returns the ids. */
  course(tenantId: string, title: string, opts?: { quizIds?: string[]; description?: string }): StubVersion;
  /** Requests answered so far, by path. */
  calls: Record<string, number>;
  /** The next contacts requests wait until `release()`; `arrived` resolves when the first one comes. */
  holdContacts(): { arrived: Promise<void>; release(): void };
  /** While true, every request answers 503. */
  down: boolean;
  /** Paths that answer 503 while listed (one dependency down, the others up). */
  failing: Set<string>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startStubs(): Promise<Stubs> {
  const orgs = new Map<string, string>();
  const members = new Map<string, { tenantId: string; userId: string; displayName: string; email: string }>();
  const versions = new Map<string, StubVersion & { tenantId: string }>();
  const calls: Record<string, number> = {};
  let hold: { arrived: () => void; released: Promise<void> } | null = null;
  const stubs = { down: false, failing: new Set<string>() } as Stubs;

  const answer = async (path: string, body: unknown): Promise<[number, unknown]> => {
    if (path === ORGANIZATION_PROFILE_PATH) {
      const { tenantId } = organizationProfileRequest.parse(body);
      const name = orgs.get(tenantId);
      return name ? [200, { organization: { id: tenantId, name, slug: name.toLowerCase().replace(/\W+/g, '-') } }] : [404, { error: 'no such organization' }];
    }
    if (path === CONTACTS_PATH) {
      const { tenantId, userIds } = contactsRequest.parse(body);
      if (hold) {
        const h = hold;
        h.arrived();
        await h.released;
      }
      const contacts = userIds.flatMap((id) => {
        const m = members.get(`${tenantId}/${id}`);
        return m ? [{ userId: id, email: m.email, displayName: m.displayName, timeZone: 'UTC', locale: null }] : [];
      });
      return [200, { contacts }];
    }
    if (path === COURSE_STRUCTURE_PATH) {
      const { tenantId, courseIds, versionIds } = courseStructureRequest.parse(body);
      const mine = [...versions.values()].filter((v) => v.tenantId === tenantId);
      const res: CourseStructure = {
        courses: mine
          .filter((v) => courseIds.includes(v.courseId))
          .map((v) => ({ courseId: v.courseId, title: v.title, status: 'PUBLISHED', publishedVersionId: v.versionId, prerequisiteCourseIds: [] })),
        versions: mine
          .filter((v) => versionIds.includes(v.versionId))
          .map((v) => ({
            versionId: v.versionId,
            courseId: v.courseId,
            number: 1,
            status: 'PUBLISHED',
            title: v.title,
            description: v.description,
            lessons: [
              { lessonId: randomUUID(), lineageId: randomUUID(), moduleId: randomUUID(), kind: 'TEXT', required: true, durationSeconds: null, quizId: null, videoAssetId: null },
              ...v.quizIds.map((quizId) => ({ lessonId: randomUUID(), lineageId: randomUUID(), moduleId: randomUUID(), kind: 'QUIZ' as const, required: true, durationSeconds: null, quizId, videoAssetId: null })),
            ],
          })),
      };
      return [200, res];
    }
    return [404, { error: `the stand-in does not answer ${path}` }];
  };

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = req.url ?? '';
    calls[path] = (calls[path] ?? 0) + 1;
    if (stubs.down || stubs.failing.has(path)) return send(503, { error: 'down' });
    readJson(req)
      .then((body) => answer(path, body))
      .then(([status, body]) => send(status, body), (err: unknown) => send(400, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(stubs, {
    url: `http://127.0.0.1:${port}/graphql`,
    calls,
    organization: (tenantId: string, name: string) => void orgs.set(tenantId, name),
    member: (tenantId: string, userId: string, displayName: string, email: string) => void members.set(`${tenantId}/${userId}`, { tenantId, userId, displayName, email }),
    removeMember: (tenantId: string, userId: string) => void members.delete(`${tenantId}/${userId}`),
    course(tenantId: string, title: string, opts: { quizIds?: string[]; description?: string } = {}) {
      const v = { versionId: randomUUID(), courseId: randomUUID(), title, description: opts.description ?? `All about ${title}.`, quizIds: opts.quizIds ?? [] };
      versions.set(v.versionId, { ...v, tenantId });
      return v;
    },
    holdContacts() {
      let arrived!: () => void;
      let release!: () => void;
      const a = new Promise<void>((r) => (arrived = r));
      const released = new Promise<void>((r) => (release = r));
      hold = { arrived, released };
      return {
        arrived: a,
        release() {
          hold = null;
          release();
        },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
