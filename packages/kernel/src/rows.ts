// Parsing rows of raw SQL (stores, uow.statement): the driver hands timestamptz over in
// PostgreSQL's text form ('2026-01-02 03:04:05.678901+00'); a store turns it into a Date here.

/** A timestamptz value as a Date (a Date passes through). */
export function timestamp(v: unknown): Date {
  if (v instanceof Date) return v;
  const text = String(v);
  // The common case, UTC, without a regex: '2026-01-02 03:04:05.678901+00' -> '2026-01-02T03:04:05.678901Z'
  if (text.endsWith('+00')) return new Date(`${text.slice(0, 10)}T${text.slice(11, -3)}Z`);
  return new Date(text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
}

export const optionalTimestamp = (v: unknown): Date | null => (v == null ? null : timestamp(v));
