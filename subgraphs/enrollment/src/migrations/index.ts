import type { Migration } from '@lectern/kernel/db';
import { m0001 } from './0001-enrollment.ts';
import { m0002 } from './0002-roster-import-failure.ts';
import { m0003 } from './0003-enroll-learner.ts';
import { m0004 } from './0004-offering-version-changes.ts';

/** Forward-only, in order. Never edit one that has shipped: add the next. */
export const migrations: Migration[] = [m0001, m0002, m0003, m0004];
