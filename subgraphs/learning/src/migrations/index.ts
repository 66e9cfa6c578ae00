import type { Migration } from '@lectern/kernel/db';

/** Forward-only, in order. Never edit one that has shipped: add the next. */
export const migrations: Migration[] = [];
