// Ids as callers send them. Every id Lectern mints is a UUID; a string that is not one names
// nothing, and checking first keeps malformed ids away from SQL (a uuid cast would fail the
// transaction).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` is a UUID (either case; normalise with toLowerCase() before comparing). */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);
