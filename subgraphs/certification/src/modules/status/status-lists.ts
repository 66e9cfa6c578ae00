// Revocation through Bitstring Status Lists (W3C). Each organization has lists of 131072
// entries; a certificate takes the next free slot of its organization's newest list, and its
// index in the list is a scattered permutation of the slot (status-list.ts statusIndex), so
// neighbours in time are not neighbours in the list. The list's bits live in status_lists (the
// organization's); the signed BitstringStatusListCredential anyone fetches lives in
// public_status_lists, re-signed in the transaction that flips a bit, served at
// GET /certification/status/<listId> (statusRoute).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sendJson, type Route } from '@lectern/kernel/http';
import type { IssuerKey } from '../credential/keys.ts';
import { emptyStatusList, randomListParameters, setStatus, signStatusListCredential, STATUS_LIST_SIZE, statusIndex } from '../credential/status-list.ts';

type Sql = Pick<EntityManager, 'execute'>;

export const STATUS_PATH = '/certification/status/';

export interface StatusEntry {
  listId: string;
  index: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The URL of a status list credential (what credentials name in credentialStatus.statusListCredential). */
export const statusListUrl = (origin: string, listId: string) => `${origin.replace(/\/+$/, '')}${STATUS_PATH}${listId}`;

/**
 * Takes the next entry of the organization's newest list with room, making a list (signed and
 * published empty) when there is none. The list's row is locked until the caller's transaction
 * ends; creating one is serialized per organization (an advisory lock), so two first issues do
 * not make two lists.
 */
export async function allocateStatusEntry(em: Sql, tenantId: string, issuer: () => Promise<IssuerKey>, origin: string): Promise<StatusEntry> {
  const take = async () => {
    const [row] = await em.execute<{ id: string; slot: number; multiplier: number; offset: number }[]>(
      `with list as (select id from status_lists where tenant_id = ? and next_slot < ? order by seq desc limit 1 for update)
       update status_lists s set next_slot = s.next_slot + 1, updated_at = now() from list
        where s.tenant_id = ? and s.id = list.id
       returning s.id, s.next_slot - 1 as slot, s.multiplier, s."offset"`,
      [tenantId, STATUS_LIST_SIZE, tenantId],
    );
    return row ? { listId: row.id, index: statusIndex(Number(row.slot), Number(row.multiplier), Number(row.offset)) } : null;
  };
  const taken = await take();
  if (taken) return taken;
  await em.execute(`select pg_advisory_xact_lock(hashtextextended(? || '/certification-status-lists', 0))`, [tenantId]);
  const again = await take();
  if (again) return again;
  const key = await issuer();
  const id = randomUUID();
  const { multiplier, offset } = randomListParameters();
  const bits = emptyStatusList();
  const credential = await signStatusListCredential({ url: statusListUrl(origin, id), bits, key, now: new Date() });
  await em.execute(`insert into status_lists (tenant_id, id, multiplier, "offset", bits) values (?, ?, ?, ?, ?)`, [tenantId, id, multiplier, offset, Buffer.from(bits)]);
  await em.execute(`insert into public_status_lists (id, organization_id, credential) values (?, ?, ?::jsonb)`, [id, tenantId, JSON.stringify(credential)]);
  const made = await take();
  if (!made) throw new Error('a new status list has no free entry');
  return made;
}

/**
 * Sets (or clears) an entry and publishes the re-signed list, in the caller's transaction (the
 * list row locked while it changes).
 */
export async function setStatusEntry(em: Sql, tenantId: string, entry: StatusEntry, revoked: boolean, key: IssuerKey, origin: string): Promise<void> {
  const [row] = await em.execute<{ bits: Buffer }[]>(`select bits from status_lists where tenant_id = ? and id = ? for update`, [tenantId, entry.listId]);
  if (!row) throw new Error(`status list ${entry.listId} is missing`);
  const bits = new Uint8Array(Buffer.from(row.bits));
  setStatus(bits, entry.index, revoked);
  const credential = await signStatusListCredential({ url: statusListUrl(origin, entry.listId), bits, key, now: new Date() });
  await em.execute(`update status_lists set bits = ?, updated_at = now() where tenant_id = ? and id = ?`, [Buffer.from(bits), tenantId, entry.listId]);
  await em.execute(`update public_status_lists set credential = ?::jsonb, updated_at = now() where id = ? and organization_id = ?`, [JSON.stringify(credential), entry.listId, tenantId]);
}

/** A published status list credential by its URL's list id (null: not one of Lectern's). */
export async function publishedStatusList(orm: MikroORM, listId: string): Promise<object | null> {
  if (!UUID.test(listId)) return null;
  const [row] = await orm.em.fork().execute<{ credential: object }[]>(`select credential from public_status_lists where id = ?`, [listId]);
  return row?.credential ?? null;
}

/**
 * GET /certification/status/<listId>: the signed list, public (verifiers anywhere fetch it). Cached
 * for a minute: a revocation reaches caching verifiers within that.
 */
export function statusRoute(orm: MikroORM): Route {
  return async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    if (!url.pathname.startsWith(STATUS_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      return true;
    }
    const credential = await publishedStatusList(orm, url.pathname.slice(STATUS_PATH.length));
    if (!credential) {
      sendJson(res, 404, { error: 'no such status list' }, { 'access-control-allow-origin': '*' });
      return true;
    }
    const body = JSON.stringify(credential);
    res.writeHead(200, {
      'content-type': 'application/vc+ld+json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'public, max-age=60',
      'access-control-allow-origin': '*',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
