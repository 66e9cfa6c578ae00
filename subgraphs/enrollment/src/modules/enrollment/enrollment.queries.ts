// Reading offerings, cohorts, enrollments and roster imports with the caller's eyes. Every
// member sees the organization's offerings and cohorts; enrollments are visible to their
// learner, to instructors of their cohort and to ORG_ADMIN. Another organization's object is
// simply not there (the unit of work scopes every query), so it is indistinguishable from a
// missing one.
import { isUuid, pageSize, decodeCursor, toConnection, type Actor, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { managesAll, requireReader, teaches } from '../../access.ts';
import type { EnrollmentLoaders } from '../../loaders.ts';

import type { Enrollment, EnrollmentStatus } from './enrollment.entity.ts';
import { Offering, type Cohort } from '../offering/offering.entity.ts';
import type { RosterImport } from '../roster/roster.entity.ts';
import { offeringsAfter, rejectedImportRows } from './enrollment.store.ts';

export interface RejectedRow {
  rowNumber: number;
  identifier: string;
  status: string;
  reason: string | null;
  enrollmentId: string | null;
}

export class EnrollmentQueries {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: EnrollmentLoaders;

  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: EnrollmentLoaders }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
  }

  async offering(id: string): Promise<Offering | null> {
    requireReader(this.#actor);
    return isUuid(id) ? this.#loaders.offering.load(id.toLowerCase()) : null;
  }

  async cohort(id: string): Promise<Cohort | null> {
    requireReader(this.#actor);
    return isUuid(id) ? this.#loaders.cohort.load(id.toLowerCase()) : null;
  }

  /** The enrollment when the caller may see it. */
  async enrollment(id: string): Promise<Enrollment | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const e = await this.#loaders.enrollment.load(id.toLowerCase());
    return e && (await this.canSee(e)) ? e : null;
  }

  async canSee(e: Enrollment): Promise<boolean> {
    if (managesAll(this.#actor) || e.learnerId === this.#actor.userId) return true;
    const cohort = await this.#loaders.cohort.load(e.cohortId);
    return cohort !== null && teaches(this.#actor, cohort);
  }

  async offerings(args: PageArgs & { courseId?: string | null }): Promise<Connection<Offering>> {
    requireReader(this.#actor);
    if (args.courseId != null) {
      if (!isUuid(args.courseId)) return toConnection([], pageSize(args), () => [], false);
      return this.courseOfferings(args.courseId.toLowerCase(), args);
    }
    const limit = pageSize(args);
    const after = Number(decodeCursor(args.after, 1)?.[0] ?? 0);
    const em = await this.#uow.em();
    const rows = await offeringsAfter(em, this.#actor.tenantId, after, limit + 1);
    const list = rows.map((r) => ({ seq: r.seq, node: em.map(Offering, r.columns) }));
    for (const o of list) this.#loaders.offering.prime(o.node.id, o.node);
    const conn = toConnection(list, limit, (r) => [r.seq], after > 0);
    return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.node })), nodes: conn.nodes.map((n) => n.node) };
  }

  courseOfferings(courseId: string, args: PageArgs): Promise<Connection<Offering>> {
    requireReader(this.#actor);
    return this.#loaders.pages.load({ by: 'course', id: courseId, args: { first: args.first, after: args.after } }) as Promise<Connection<Offering>>;
  }

  cohortEnrollments(cohortId: string, args: PageArgs & { status?: EnrollmentStatus | null }): Promise<Connection<Enrollment>> {
    requireReader(this.#actor);
    return this.#loaders.pages.load({ by: 'cohort', id: cohortId, args }) as Promise<Connection<Enrollment>>;
  }

  learnerEnrollments(learnerId: string, args: PageArgs & { status?: EnrollmentStatus | null }): Promise<Connection<Enrollment>> {
    requireReader(this.#actor);
    if (!isUuid(learnerId)) return Promise.resolve(toConnection([], pageSize(args), () => [], false));
    return this.#loaders.pages.load({ by: 'learner', id: learnerId.toLowerCase(), args }) as Promise<Connection<Enrollment>>;
  }

  myEnrollments(args: PageArgs & { status?: EnrollmentStatus | null }): Promise<Connection<Enrollment>> {
    requireReader(this.#actor);
    if (!this.#actor.userId) return Promise.resolve(toConnection([], pageSize(args), () => [], false));
    return this.learnerEnrollments(this.#actor.userId, args);
  }

  /** ORG_ADMIN and the cohort's instructors. */
  async rosterImport(id: string): Promise<RosterImport | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const imp = await this.#loaders.rosterImport.load(id.toLowerCase());
    if (!imp) return null;
    if (managesAll(this.#actor)) return imp;
    const cohort = await this.#loaders.cohort.load(imp.cohortId);
    return cohort && teaches(this.#actor, cohort) ? imp : null;
  }

  async rejectedRows(importId: string, args: PageArgs): Promise<Connection<RejectedRow>> {
    const limit = pageSize(args);
    const after = Number(decodeCursor(args.after, 1)?.[0] ?? 0);
    const em = await this.#uow.em();
    const list: RejectedRow[] = await rejectedImportRows(em, this.#actor.tenantId, importId, after, limit + 1);
    return toConnection(list, limit, (r) => [r.rowNumber], after > 0);
  }

  async waitlistPosition(e: Enrollment): Promise<number | null> {
    if (e.status !== 'WAITLISTED') return null;
    return (await this.#loaders.waitlistPosition.load(e.id))?.position ?? null;
  }

  async waitlistCount(cohortId: string): Promise<number> {
    return (await this.#loaders.waitlistCount.load(cohortId))?.n ?? 0;
  }

  /** Enrollments by id (payloads), visible ones only. */
  async enrollmentsById(ids: string[]): Promise<Enrollment[]> {
    const found = await Promise.all(ids.map((id) => this.enrollment(id)));
    return found.filter((e): e is Enrollment => e !== null);
  }
}

