// A roster import and its rows (one per person named in the file), processed by the
// import-roster job in batches; counters move with each committed batch.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';

export const IMPORT_STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'] as const;
export type RosterImportStatus = (typeof IMPORT_STATUSES)[number];
export const ROW_STATUSES = ['PENDING', 'ENROLLED', 'WAITLISTED', 'ALREADY_ENROLLED', 'REJECTED'] as const;
export type RosterRowStatus = (typeof ROW_STATUSES)[number];

export const RosterImportSchema = defineEntity({
  name: 'RosterImport',
  tableName: 'roster_imports',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    offeringId: p.uuid(),
    cohortId: p.uuid(),
    status: p.string().$type<RosterImportStatus>(),
    total: p.integer(),
    processed: p.integer(),
    enrolled: p.integer(),
    alreadyEnrolled: p.integer(),
    rejected: p.integer(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
    failure: p.string().nullable(),
  },
});
export class RosterImport extends RosterImportSchema.class {}
RosterImportSchema.setClass(RosterImport);

export const RosterImportRowSchema = defineEntity({
  name: 'RosterImportRow',
  tableName: 'roster_import_rows',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    importId: p.uuid().primary(),
    rowNumber: p.integer().primary(),
    identifier: p.string(),
    kind: p.string().$type<'EMAIL' | 'USER_ID'>(),
    status: p.string().$type<RosterRowStatus>(),
    reason: p.string().nullable(),
    enrollmentId: p.uuid().nullable(),
  },
});
export class RosterImportRow extends RosterImportRowSchema.class {}
RosterImportRowSchema.setClass(RosterImportRow);

/** A row as the API shows it (RosterImportRow): its import and number are its identity. */
export interface RosterImportRowView {
  importId: string;
  rowNumber: number;
  identifier: string;
  kind: 'EMAIL' | 'USER_ID';
  status: RosterRowStatus;
  reason: string | null;
  enrollmentId: string | null;
}
/** A page of an import's rows (codegen maps RosterImportRowConnection to it). */
export type RosterImportRowConnection = Connection<RosterImportRowView>;
