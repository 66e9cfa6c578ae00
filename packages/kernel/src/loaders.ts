// DataLoader helpers: one loader per request per lookup, results ordered to the keys.
// The DataLoader exported here is dataloader's, with tracing (tracing.ts): while it is on, each
// batch a loader made during a traced request sends runs in a `dataloader.batch <name>` span
// (the loader's `name`: loaderRegistry names its loaders after their keys), so every resolver
// batch of an operation shows in its trace with its size and SQL.
import BaseDataLoader from 'dataloader';
import { inChildSpan, isTracing } from './tracing.ts';

/** dataloader's DataLoader; a batch runs in a span while tracing is on (see the header). */
export class DataLoader<K, V, C = K> extends BaseDataLoader<K, V, C> {
  constructor(batchLoadFn: BaseDataLoader.BatchLoadFn<K, V>, options?: BaseDataLoader.Options<K, V, C>) {
    if (!isTracing()) {
      super(batchLoadFn, options);
      return;
    }
    const self: { loader?: DataLoader<K, V, C> } = {};
    super(
      (keys) =>
        inChildSpan(`dataloader.batch${self.loader?.name ? ` ${self.loader.name}` : ''}`, { attributes: { 'lectern.dataloader.batch_size': keys.length } }, async () => batchLoadFn(keys)),
      options,
    );
    self.loader = this;
  }
}

/** A loader of one row per key; missing keys resolve to null (never another tenant's row: the UoW scopes the query). */
export function oneLoader<K extends string, V>(fetch: (keys: readonly K[]) => Promise<V[]>, keyOf: (row: V) => K) {
  return new DataLoader<K, V | null>(async (keys) => {
    const rows = await fetch(keys);
    const byKey = new Map(rows.map((r) => [keyOf(r), r]));
    return keys.map((k) => byKey.get(k) ?? null);
  });
}

/** A loader of many rows per key (a relation), each key's rows in fetch order. */
export function manyLoader<K extends string, V>(fetch: (keys: readonly K[]) => Promise<V[]>, keyOf: (row: V) => K) {
  return new DataLoader<K, V[]>(async (keys) => {
    const rows = await fetch(keys);
    const byKey = new Map<K, V[]>();
    for (const r of rows) {
      const k = keyOf(r);
      const list = byKey.get(k);
      if (list) list.push(r);
      else byKey.set(k, [r]);
    }
    return keys.map((k) => byKey.get(k) ?? []);
  });
}

/** Lazily creates each named loader once per request. */
export function loaderRegistry<T extends Record<string, () => unknown>>(factories: T): { [K in keyof T]: ReturnType<T[K]> } {
  const cache = new Map<keyof T, unknown>();
  return new Proxy({} as { [K in keyof T]: ReturnType<T[K]> }, {
    get(_t, prop: string) {
      if (!(prop in factories)) return undefined;
      if (!cache.has(prop)) {
        const made = factories[prop]!();
        if (made instanceof BaseDataLoader && made.name === null) made.name = prop;
        cache.set(prop, made);
      }
      return cache.get(prop);
    },
  });
}

/** A row a non-null field refers to (kept by foreign keys): missing is a bug, not a client's mistake. */
export async function must<T>(row: Promise<T | null> | T | null, what: string): Promise<T> {
  const v = await row;
  if (v === null || v === undefined) throw new Error(`${what} is missing`);
  return v;
}

