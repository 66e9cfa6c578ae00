// DESIGN rule 2: each isolation layer holds on its own, and a pooled connection carries
// nothing of one request's tenant into the next.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { bootstrapDatabase, connectionString, migrate, withClient } from '../src/db.ts';
import { createOrm, type EntityManager, type MikroORM } from '../src/orm.ts';
import { UnitOfWork, inTenant, tenantFilter } from '../src/uow.ts';
import { claim, idempotent } from '../src/idempotency.ts';

const NoteSchema = defineEntity({
  name: 'Note',
  tableName: 'notes',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    body: p.string(),
  },
});
class Note extends NoteSchema.class {}
NoteSchema.setClass(Note);

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `lectern_test_kernel_${randomBytes(4).toString('hex')}`;
const A = randomUUID();
const B = randomUUID();
let runtime: MikroORM;
let superuser: MikroORM;

beforeAll(async () => {
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: 'kerneltest' }] });
  await migrate({
    ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }),
    schema: 'kerneltest',
    migrations: [{ id: '0001', up: (h) => ['CREATE TABLE notes (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL)', ...h.tenantTable('notes')] }],
  });
  const url = connectionString(ADMIN, { user: '', database });
  // pool of one: every unit of work reuses the same connection
  runtime = await createOrm({ databaseUrl: url, schema: 'kerneltest', entities: [NoteSchema], poolMax: 1 });
  superuser = await createOrm({ databaseUrl: url, schema: 'kerneltest', entities: [NoteSchema], user: 'postgres', poolMax: 1 });
  for (const [tenant, body] of [[A, 'a1'], [A, 'a2'], [B, 'b1']] as const) {
    await inTenant(runtime, tenant, (uow) => uow.write(async (em) => void em.create(Note, { tenantId: tenant, body })));
  }
});
afterAll(async () => {
  await runtime?.close();
  await superuser?.close();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

const bodies = (notes: Note[]) => notes.map((n) => n.body).sort();
/** Notes with this body, seen from outside any request (a superuser connection). */
const count = async (body: string) => Number((await superuser.em.fork({ disableContextResolution: true }).execute<{ n: string }[]>(`select count(*) as n from kerneltest.notes where body = ?`, [body]))[0]!.n);

describe('tenant isolation layers', () => {
  it('scopes reads to the unit of work’s tenant with both layers on', async () => {
    const notes = await inTenant(runtime, B, async (uow) => (await uow.em()).find(Note, {}));
    expect(bodies(notes)).toEqual(['b1']);
  });

  it('RLS alone holds: with the ORM filter disabled, B still sees only B', async () => {
    const notes = await inTenant(runtime, B, async (uow) => (await uow.em()).find(Note, {}, { filters: false }));
    expect(bodies(notes)).toEqual(['b1']);
    const raw = await inTenant(runtime, B, async (uow) => (await uow.em()).execute('select body from notes'));
    expect(raw).toEqual([{ body: 'b1' }]);
  });

  it('RLS alone refuses writes into another tenant (WITH CHECK)', async () => {
    await expect(
      inTenant(runtime, B, (uow) => uow.write(async (em) => void em.create(Note, { tenantId: A, body: 'planted' }))),
    ).rejects.toThrow(/row-level security/);
  });

  it('the ORM filter alone holds: as a superuser (RLS bypassed) the filter still scopes to B', async () => {
    const notes = await inTenant(superuser, B, async (uow) => (await uow.em()).find(Note, {}));
    expect(bodies(notes)).toEqual(['b1']);
    // proof that RLS really is bypassed on this connection
    const all = await inTenant(superuser, B, async (uow) => (await uow.em()).find(Note, {}, { filters: false }));
    expect(all).toHaveLength(3);
  });

  it('a unit of work without a tenant sees nothing', async () => {
    const notes = await inTenant(runtime, null, async (uow) => (await uow.em()).find(Note, {}, { filters: false }));
    expect(notes).toEqual([]);
  });

  it('a pooled connection reused after an A request carries none of A’s context, after commit or rollback', async () => {
    await inTenant(runtime, A, async (uow) => (await uow.em()).find(Note, {}));
    const uow = new UnitOfWork(runtime, null);
    const em = await uow.em();
    expect(await em.execute(`select coalesce(current_setting('app.tenant_id', true), '') as t`)).toEqual([{ t: '' }]);
    await uow.commit();
    const failing = new UnitOfWork(runtime, A);
    await failing.em();
    await failing.rollback();
    const after = await inTenant(runtime, null, async (u) => (await u.em()).execute('select count(*)::int as n from notes'));
    expect(after).toEqual([{ n: 0 }]);
  });
});

describe('unit of work writes', () => {

  it('commits each write on its own: a failed one undoes only itself, and reads after it see the committed state', async () => {
    const uow = new UnitOfWork(runtime, A);
    expect(await (await uow.em()).count(Note, {})).toBe(2);
    await uow.write(async (em) => void em.create(Note, { tenantId: A, body: 'first field' }));
    // committed already: another connection sees it before the request ends
    expect(await count('first field')).toBe(1);
    await expect(
      uow.write(async (em) => {
        em.create(Note, { tenantId: A, body: 'second field' });
        await em.flush();
        throw new Error('second field failed');
      }),
    ).rejects.toThrow('second field failed');
    await uow.write(async (em) => void em.create(Note, { tenantId: A, body: 'third field' }));
    // a payload read after the writes, in the same tenant, sees them
    expect(bodies(await (await uow.em()).find(Note, { body: { $like: '%field' } }))).toEqual(['first field', 'third field']);
    await uow.commit();
    expect([await count('first field'), await count('second field'), await count('third field')]).toEqual([1, 0, 1]);
  });

  it('runs a write inside a write in a savepoint of the outer one', async () => {
    await inTenant(runtime, A, (uow) =>
      uow.write(async (em) => {
        em.create(Note, { tenantId: A, body: 'outer' });
        await em.flush();
        await expect(uow.write(async () => { throw new Error('inner'); })).rejects.toThrow('inner');
        await uow.write(async (inner) => void inner.create(Note, { tenantId: A, body: 'inner kept' }));
      }),
    );
    expect([await count('outer'), await count('inner kept')]).toEqual([1, 1]);
  });
});

describe('idempotency store', () => {
  const run = (key: string, input: unknown, effect: () => Promise<unknown>) =>
    inTenant(runtime, A, (uow) => uow.write((em) => idempotent(em, { tenantId: A, scope: 'test', key, input }, effect as () => Promise<unknown>)));

  it('replays the stored result, refuses different input, and conflicts while in flight', async () => {
    let effects = 0;
    const effect = async () => ({ n: ++effects });
    expect(await run('key-00000001', { x: 1 }, effect)).toEqual({ n: 1 });
    expect(await run('key-00000001', { x: 1 }, effect)).toEqual({ n: 1 });
    expect(effects).toBe(1);
    await expect(run('key-00000001', { x: 2 }, effect)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' } });
    // in flight: the first request has claimed the key (its change is running) and waits at a gate
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let claimed!: () => void;
    const isClaimed = new Promise<void>((r) => (claimed = r));
    const orm2 = await createOrm({ databaseUrl: connectionString(ADMIN, { user: '', database }), schema: 'kerneltest', entities: [NoteSchema], poolMax: 1 });
    try {
      const first = inTenant(orm2, A, (uow) =>
        uow.write((em) => idempotent(em, { tenantId: A, scope: 'test', key: 'key-00000002', input: {} }, async () => {
          claimed();
          await gate;
          return 'first';
        })),
      );
      await isClaimed;
      await expect(run('key-00000002', {}, effect)).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
      release();
      expect(await first).toBe('first');
      expect(await run('key-00000002', {}, effect)).toBe('first');
      expect(effects).toBe(1);
    } finally {
      release();
      await orm2.close();
    }
  });

  it('leaves no record when the change rolls back, so the request can be retried', async () => {
    await expect(run('key-00000003', {}, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await run('key-00000003', {}, async () => 'second try')).toBe('second try');
  });

  const stored = async (key: string) =>
    (await superuser.em.fork({ disableContextResolution: true }).execute<{ response: { value: unknown } }[]>(`select response from kerneltest.idempotency_keys where tenant_id = ? and scope = 'test' and key = ?`, [A, key])).map((r) => r.response.value);
  const notes = (key: string) => count(`note of ${key}`);

  it('stores the result with the change it describes, in its transaction', async () => {
    const uow = new UnitOfWork(runtime, A);
    await uow.write(async (em) => {
      await claim(em, { tenantId: A, scope: 'test', key: 'key-00000004', input: {} }).then(async (c) => {
        expect(c.replay).toBe(false);
        await em.execute(`insert into notes (id, tenant_id, body) values (gen_random_uuid(), ?, 'note of key-00000004')`, [A]);
        if (!c.replay) await c.complete({ seat: 'a' });
      });
      // not committed yet: nobody else sees the record or the change
      expect([await stored('key-00000004'), await notes('key-00000004')]).toEqual([[], 0]);
    });
    expect([await stored('key-00000004'), await notes('key-00000004')]).toEqual([[{ seat: 'a' }], 1]);
    await uow.commit();
    expect(await run('key-00000004', {}, async () => 'again')).toEqual({ seat: 'a' });
  });

  it('refuses with CONFLICT, and keeps no change, when another request’s record appears in the lookup’s snapshot gap', async () => {
    // the other request's record is written (and committed) after this one's lookup, as if it had committed in the gap
    const sneak = (key: string) => superuser.em.fork({ disableContextResolution: true }).execute(
      `insert into kerneltest.idempotency_keys (tenant_id, scope, key, fingerprint, response, expires_at) values (?, 'test', ?, 'other', '{"value":"other"}', now() + interval '1 hour')`,
      [A, key],
    );
    const key = 'key-00000008';
    await expect(
      inTenant(runtime, A, (uow) => uow.write((em) => idempotent(em, { tenantId: A, scope: 'test', key, input: {} }, async () => {
        await em.execute(`insert into notes (id, tenant_id, body) values (gen_random_uuid(), ?, ?)`, [A, `note of ${key}`]);
        await sneak(key);
        return 'mine';
      }))),
    ).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
    expect([await stored(key), await notes(key)]).toEqual([['other'], 0]);
  });

  it('reuses an expired key as a new request, in place of its old record', async () => {
    expect(await run('key-00000007', {}, async () => 'old')).toBe('old');
    await superuser.em.fork({ disableContextResolution: true }).execute(`update kerneltest.idempotency_keys set expires_at = now() - interval '1 second' where key = 'key-00000007'`);
    expect(await run('key-00000007', { other: 'input' }, async () => 'new')).toBe('new');
    expect(await stored('key-00000007')).toEqual(['new']);
  });
});

describe('unit of work transactions', () => {
  const insert = (em: EntityManager, body: string) => em.execute(`insert into notes (id, tenant_id, body) values (gen_random_uuid(), ?, ?)`, [A, body]);

  it('every statement of em() is in one transaction, and a rollback undoes them all', async () => {
    const uow = new UnitOfWork(runtime, A);
    const em = await uow.em();
    const a = (await em.execute<{ a: string }[]>('select txid_current()::text as a'))[0]!.a;
    await insert(em, 'rolled back');
    const b = (await em.execute<{ b: string }[]>('select txid_current()::text as b'))[0]!.b;
    expect(b).toBe(a);
    await uow.rollback();
    expect(await count('rolled back')).toBe(0);
  });

  it('a failed write inside a write undoes only itself; a failed outer write undoes what its inner writes did', async () => {
    await inTenant(runtime, A, (uow) =>
      uow.write(async (em) => {
        await insert(em, 'savepoint outer');
        await expect(uow.write(async (inner) => {
          await insert(inner, 'savepoint inner undone');
          throw new Error('inner fails');
        })).rejects.toThrow('inner fails');
        await uow.write((inner) => insert(inner, 'savepoint inner kept'));
      }),
    );
    expect([await count('outer'), await count('savepoint inner undone'), await count('inner kept')]).toEqual([1, 0, 1]);
    await expect(
      inTenant(runtime, A, (uow) =>
        uow.write(async () => {
          await uow.write((inner) => insert(inner, 'nested in a failed write'));
          throw new Error('outer fails');
        }),
      ),
    ).rejects.toThrow('outer fails');
    expect(await count('nested in a failed write')).toBe(0);
  });
});

describe('uow.statement: one statement in one round trip, with the tenant setting', () => {
  it('runs under RLS as the unit of work’s tenant, and nothing of it stays on the connection', async () => {
    // ORM filter not involved: raw SQL without a tenant predicate still sees only B (RLS)
    expect(await new UnitOfWork(runtime, B).statement(`select body from notes order by body`)).toEqual([{ body: 'b1' }]);
    expect(await new UnitOfWork(runtime, null).statement(`select count(*)::int as n from notes`)).toEqual([{ n: 0 }]);
    // parameters are inlined safely
    expect(await new UnitOfWork(runtime, A).statement(`select ?::text as s, ?::int as n`, [`it's; select 1`, 7])).toEqual([{ s: `it's; select 1`, n: 7 }]);
    const uow = new UnitOfWork(runtime, null);
    expect(await (await uow.em()).execute(`select coalesce(current_setting('app.tenant_id', true), '') as t`)).toEqual([{ t: '' }]);
    await uow.commit();
  });

  it('is one transaction: a failure undoes the whole statement, and RLS refuses another tenant’s rows', async () => {
    await expect(new UnitOfWork(runtime, A).statement(`with w as (insert into notes (id, tenant_id, body) values (gen_random_uuid(), ?, 'batch undone') returning 1) select 1 / (select count(*) - 1 from w) as boom`, [A])).rejects.toThrow(/division by zero/);
    expect(await count('batch undone')).toBe(0);
    await expect(new UnitOfWork(runtime, B).statement(`insert into notes (id, tenant_id, body) values (gen_random_uuid(), ?, 'planted by B')`, [A])).rejects.toThrow(/row-level security/);
  });

  it('is refused inside a write, which it could not see', async () => {
    const uow = new UnitOfWork(runtime, A);
    await expect(uow.write(() => uow.statement('select 1'))).rejects.toThrow(/outside a write/);
  });
});
