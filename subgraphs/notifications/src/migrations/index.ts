import type { Migration } from '@lectern/kernel/db';
import { m0001 } from './0001-notifications.ts';
import { m0002 } from './0002-learner-categories-and-replays.ts';
import { m0003 } from './0003-certificate-issued.ts';

/** Forward-only, in order. Never edit one that has shipped: add the next. */
export const migrations: Migration[] = [m0001, m0002, m0003];
