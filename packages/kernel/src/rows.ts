// Parsing rows of raw SQL (stores, uow.statement): the driver hands timestamptz over in
// PostgreSQL's text form ('2026-01-02 03:04:05.678901+00'); a store turns it into a Date here,
// and arrays of ids cross in both directions as PostgreSQL array literals.
import { isUuid } from './ids.ts';

/** A timestamptz value as a Date (a Date passes through). */
export function timestamp(v: unknown): Date {
  if (v instanceof Date) return v;
  const text = String(v);
  // The common case, UTC, without a regex: '2026-01-02 03:04:05.678901+00' -> '2026-01-02T03:04:05.678901Z'
  if (text.endsWith('+00')) return new Date(`${text.slice(0, 10)}T${text.slice(11, -3)}Z`);
  return new Date(text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
}

export const optionalTimestamp = (v: unknown): Date | null => (v == null ? null : timestamp(v));

/**
 * A uuid[] parameter as a PostgreSQL array literal ('{a,b}'), for `= any(?::uuid[])` (MikroORM
 * would expand a JS array into a comma list). The ids are checked first: nothing else gets in.
 */
export function uuidArrayLiteral(ids: readonly string[]): string {
  if (!ids.every(isUuid)) throw new Error('uuidArrayLiteral: not a uuid');
  return `{${ids.join(',')}}`;
}

/** Uuids of a row's column: a uuid[] (parsed, or in its text form '{a,b}') or a string_agg(…, ','). */
export function uuidList(v: unknown): string[] {
  if (v == null) return [];
  if (Array.isArray(v)) return v.map(String);
  const text = String(v).replace(/^\{|\}$/g, '');
  return text === '' ? [] : text.split(',');
}
