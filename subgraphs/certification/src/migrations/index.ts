import type { Migration } from '@lectern/kernel/db';
import { m0001 } from './0001-certification.ts';

/** Forward-only, in order. Never edit one that has shipped: add the next. */
export const migrations: Migration[] = [m0001];
