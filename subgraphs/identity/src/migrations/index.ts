import type { Migration } from '@lectern/kernel/db';
import { m0001 } from './0001-identity.ts';
import { m0002 } from './0002-invitation-delivery.ts';
import { m0003 } from './0003-viewer-and-sessions.ts';
import { m0004 } from './0004-gateway-policy.ts';

/** Forward-only, in order. Never edit one that has shipped: add the next. */
export const migrations: Migration[] = [m0001, m0002, m0003, m0004];
