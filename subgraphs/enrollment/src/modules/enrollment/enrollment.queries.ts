// Reading offerings, cohorts, enrollments and roster imports with the caller's eyes. Every
// member sees the organization's offerings and cohorts; enrollments are visible to their
// learner, to instructors of their cohort and to ORG_ADMIN. Another organization's object is
// simply not there (the unit of work scopes every query), so it is indistinguishable from a
// missing one. Methods named after a query take the client's global ids (a wrong one is
// null, or an empty page); the others take UUIDs.
import { emptyConnection, idOf, isUuid, parseGlobalId, type Actor, type Connection, type PageArgs } from '@lectern/kernel';
import { managesAll, requireReader, teaches } from '../../access.ts';
import type { EnrollmentLoaders, PageKey } from '../../loaders.ts';
import type { Enrollment, EnrollmentConnection } from './enrollment.entity.ts';
import type { Cohort, CohortConnection, Offering, OfferingConnection, OfferingVersionChange } from '../offering/offering.entity.ts';
import type { RosterImport, RosterImportRowConnection, RosterImportRowView } from '../roster/roster.entity.ts';

/** The `filter:` of enrollment lists. */
export interface EnrollmentFilterArgs {
  status?: readonly string[] | null;
}
export type EnrollmentPage = PageArgs & { filter?: EnrollmentFilterArgs | null };
export type OfferingOrderArgs = { field: 'CREATED_AT' | 'STARTS_AT'; direction: 'ASC' | 'DESC' } | null;
export type OfferingPage = PageArgs & { orderBy?: OfferingOrderArgs; filter?: { courseId?: string | null } | null };

const offeringOrder = (o: OfferingOrderArgs | undefined): Pick<PageKey, 'order' | 'direction'> => ({
  order: o?.field === 'STARTS_AT' ? 'startsAt' : 'seq',
  direction: o?.direction ?? 'ASC',
});

export class EnrollmentQueries {
  #actor: Actor;
  #loaders: EnrollmentLoaders;

  constructor(deps: { actor: Actor; loaders: EnrollmentLoaders }) {
    this.#actor = deps.actor;
    this.#loaders = deps.loaders;
  }

  /** An offering by its global id. */
  async offering(id: string): Promise<Offering | null> {
    requireReader(this.#actor);
    const uuid = idOf(id, 'Offering');
    return uuid ? this.#loaders.offering.load(uuid) : null;
  }

  /** A cohort by its global id. */
  async cohort(id: string): Promise<Cohort | null> {
    requireReader(this.#actor);
    const uuid = idOf(id, 'Cohort');
    return uuid ? this.#loaders.cohort.load(uuid) : null;
  }

  /** An enrollment by its global id, when the caller may see it. */
  async enrollment(id: string): Promise<Enrollment | null> {
    const uuid = idOf(id, 'Enrollment');
    return uuid ? this.enrollmentByUuid(uuid) : null;
  }

  async enrollmentByUuid(uuid: string): Promise<Enrollment | null> {
    requireReader(this.#actor);
    const e = await this.#loaders.enrollment.load(uuid);
    return e && (await this.canSee(e)) ? e : null;
  }

  async canSee(e: Enrollment): Promise<boolean> {
    if (managesAll(this.#actor) || e.learnerId === this.#actor.userId) return true;
    const cohort = await this.#loaders.cohort.load(e.cohortId);
    return cohort !== null && teaches(this.#actor, cohort);
  }

  offerings(args: OfferingPage): Promise<OfferingConnection> {
    requireReader(this.#actor);
    if (args.filter?.courseId != null) return this.courseOfferings(args.filter.courseId, args);
    return this.#page({ rel: 'orgOfferings', id: this.#actor.tenantId, args, ...offeringOrder(args.orderBy) });
  }

  /** Offerings of a course (its global id). */
  courseOfferings(courseId: string, args: OfferingPage): Promise<OfferingConnection> {
    requireReader(this.#actor);
    const uuid = idOf(courseId, 'Course');
    if (!uuid) return Promise.resolve(emptyConnection());
    return this.#page({ rel: 'courseOfferings', id: uuid, args, ...offeringOrder(args.orderBy) });
  }

  offeringCohorts(offeringId: string, args: PageArgs): Promise<CohortConnection> {
    requireReader(this.#actor);
    return this.#page({ rel: 'offeringCohorts', id: offeringId, args });
  }

  cohortEnrollments(cohortId: string, args: EnrollmentPage): Promise<EnrollmentConnection> {
    requireReader(this.#actor);
    return this.#page({ rel: 'cohortEnrollments', id: cohortId, args, statuses: args.filter?.status });
  }

  /** Enrollments of a person (their User global id). */
  learnerEnrollments(learnerId: string, args: EnrollmentPage): Promise<EnrollmentConnection> {
    requireReader(this.#actor);
    const uuid = idOf(learnerId, 'User');
    if (!uuid) return Promise.resolve(emptyConnection());
    return this.#page({ rel: 'learnerEnrollments', id: uuid, args, statuses: args.filter?.status });
  }

  myEnrollments(args: EnrollmentPage): Promise<EnrollmentConnection> {
    requireReader(this.#actor);
    if (!this.#actor.userId) return Promise.resolve(emptyConnection());
    return this.#page({ rel: 'learnerEnrollments', id: this.#actor.userId, args, statuses: args.filter?.status });
  }

  /** A roster import by its global id: ORG_ADMIN and the cohort's instructors. */
  async rosterImport(id: string): Promise<RosterImport | null> {
    const uuid = idOf(id, 'RosterImport');
    return uuid ? this.rosterImportByUuid(uuid) : null;
  }

  async rosterImportByUuid(uuid: string): Promise<RosterImport | null> {
    requireReader(this.#actor);
    const imp = await this.#loaders.rosterImport.load(uuid);
    if (!imp) return null;
    if (managesAll(this.#actor)) return imp;
    const cohort = await this.#loaders.cohort.load(imp.cohortId);
    return cohort && teaches(this.#actor, cohort) ? imp : null;
  }

  importRows(importId: string, args: PageArgs & { filter?: { status?: readonly string[] | null } | null }): Promise<RosterImportRowConnection> {
    return this.#page({ rel: 'importRows', id: importId, args, order: 'row', statuses: args.filter?.status });
  }

  /** A row by its global id (RosterImportRow: import id and row number), when its import is visible. */
  async rosterImportRow(id: string): Promise<RosterImportRowView | null> {
    const parsed = parseGlobalId(id);
    if (!parsed || parsed.type !== 'RosterImportRow' || parsed.keys.length !== 2) return null;
    const [importKey, rowKey] = parsed.keys as [string, string];
    if (!isUuid(importKey) || !/^[1-9][0-9]{0,8}$/.test(rowKey)) return null;
    const importId = importKey.toLowerCase();
    const rowNumber = Number(rowKey);
    if (!(await this.rosterImportByUuid(importId))) return null;
    return this.#loaders.rosterImportRow.load(`${importId}:${rowNumber}`);
  }

  /** A version change by its global id: ORG_ADMIN and the instructors of the offering's cohorts. */
  async versionChange(id: string): Promise<OfferingVersionChange | null> {
    requireReader(this.#actor);
    const uuid = idOf(id, 'OfferingVersionChange');
    const change = uuid ? await this.#loaders.versionChange.load(uuid) : null;
    return change && (await this.seesVersionChanges(change.offeringId)) ? change : null;
  }

  async versionChanges(offeringId: string): Promise<OfferingVersionChange[]> {
    requireReader(this.#actor);
    return (await this.seesVersionChanges(offeringId)) ? this.#loaders.versionChanges.load(offeringId) : [];
  }

  /** ORG_ADMIN (and enrollment API keys), or an instructor of one of the offering's cohorts. */
  async seesVersionChanges(offeringId: string): Promise<boolean> {
    if (managesAll(this.#actor)) return true;
    if (!this.#actor.userId) return false;
    const cohorts = await this.#loaders.cohortsByOffering.load(offeringId);
    return cohorts.some((c) => teaches(this.#actor, c));
  }

  async waitlistPosition(e: Enrollment): Promise<number | null> {
    if (e.status !== 'WAITLISTED') return null;
    return (await this.#loaders.waitlistPosition.load(e.id))?.position ?? null;
  }

  async waitlistCount(cohortId: string): Promise<number> {
    return (await this.#loaders.waitlistCount.load(cohortId))?.n ?? 0;
  }

  /** Enrollments by UUID (payloads), visible ones only. */
  async enrollmentsById(ids: string[]): Promise<Enrollment[]> {
    const found = await Promise.all(ids.map((id) => this.enrollmentByUuid(id)));
    return found.filter((e): e is Enrollment => e !== null);
  }

  #page<T>(key: PageKey): Promise<Connection<T>> {
    return this.#loaders.pages.load(key) as Promise<Connection<T>>;
  }
}
