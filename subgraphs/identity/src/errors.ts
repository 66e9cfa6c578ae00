// Errors the resolvers throw with a kernel error code (NOT_FOUND, ...); expected business
// outcomes are returned in the payloads' `errors` by the services.
import { notFound } from '@lectern/kernel';

/** A row that must exist (it was just written, or is referenced by one that does). */
export function must<T>(row: T | null, what: string): T {
  if (row === null) throw notFound(what);
  return row;
}
