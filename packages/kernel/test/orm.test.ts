// pipelineTransactions: a transaction's BEGIN travels with its first statement (one round trip fewer
// per unit of work) without changing what PostgreSQL sees.
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { DEFERRED, pipelineTransactions } from '../src/orm.ts';

function fakeClient() {
  const sent: string[] = [];
  const client = {
    query: async (text: unknown, values?: unknown[]) => {
      sent.push(typeof text === 'string' ? `${text}${values?.length ? ` ${JSON.stringify(values)}` : ''}` : '<cursor>');
      if (typeof text === 'string' && text.includes(';')) return text.split(';').map((t) => ({ command: t.trim().split(' ')[0]!.toUpperCase(), rows: [{ t: t.trim() }] }));
      return { command: 'SELECT', rows: [{ t: text }] };
    },
  };
  pipelineTransactions(client as unknown as pg.Client);
  return { client: client as unknown as { query: (...a: unknown[]) => Promise<{ rows: { t: string }[] }> }, sent };
}

describe('pipelineTransactions', () => {
  it('sends BEGIN with the first plain statement and returns that statement’s result', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin', []);
    expect(sent).toEqual([]);
    const r = await client.query(`select set_config('app.tenant_id', 'x', true)`, []);
    expect(r.rows).toEqual([{ t: `select set_config('app.tenant_id', 'x', true)` }]);
    await client.query('select 1', []);
    await client.query('commit', []);
    expect(sent).toEqual([`begin; select set_config('app.tenant_id', 'x', true)`, 'select 1', 'commit']);
  });

  it('sends BEGIN alone before a parameterised or cursor query, and nothing for an empty transaction', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin', []);
    await client.query('select $1', [1]);
    await client.query('commit', []);
    await client.query('begin', []);
    await client.query('rollback', []);
    await client.query('begin', []);
    await client.query({ cursor: true });
    expect(sent).toEqual(['begin', 'select $1 [1]', 'commit', 'begin', '<cursor>']);
  });

  it('a guarded statement that commits returns its own result, and the COMMIT after it is not sent; anything else is refused', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin', []);
    await client.query('select 1', []);
    const r = await client.query('savepoint lectern_guard; update t set n = n + 1 returning n; commit', []);
    expect(r.rows).toEqual([{ t: 'update t set n = n + 1 returning n' }]);
    await expect(client.query('select 2', [])).rejects.toThrow(/committed by its last statement/);
    await client.query('commit', []);
    await client.query('begin', []);
    await client.query('select 3', []);
    await client.query('rollback', []);
    expect(sent).toEqual(['begin; select 1', 'savepoint lectern_guard; update t set n = n + 1 returning n; commit', 'begin; select 3', 'rollback']);
  });

  it('a guarded statement first in its transaction carries BEGIN too; one that releases its savepoint leaves the transaction open', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin', []);
    const first = await client.query('savepoint lectern_guard; select 4; release savepoint lectern_guard', []);
    expect(first.rows).toEqual([{ t: 'select 4' }]);
    await client.query('select 5', []);
    await client.query('commit', []);
    await client.query('begin', []);
    const last = await client.query('savepoint lectern_guard; select 6; commit', []);
    expect(last.rows).toEqual([{ t: 'select 6' }]);
    await client.query('rollback', []);
    expect(sent).toEqual(['begin; savepoint lectern_guard; select 4; release savepoint lectern_guard', 'select 5', 'commit', 'begin; savepoint lectern_guard; select 6; commit']);
  });

  it('holds a deferred statement with BEGIN until the first statement, in order, and sends nothing for an empty transaction', async () => {
    const { client, sent } = fakeClient();
    const tenant = `${DEFERRED}select set_config('app.tenant_id', 'a', true)`;
    await client.query('begin', []);
    expect((await client.query(tenant, [])).rows).toEqual([]);
    const r = await client.query('select 1', []);
    expect(r.rows).toEqual([{ t: 'select 1' }]);
    await client.query('commit', []);
    await client.query('begin', []);
    await client.query(tenant, []);
    await client.query('rollback', []);
    await client.query('begin', []);
    await client.query(tenant, []);
    const guarded = await client.query('savepoint lectern_guard; select 2; commit', []);
    expect(guarded.rows).toEqual([{ t: 'select 2' }]);
    await client.query('commit', []);
    await client.query('begin', []);
    await client.query(tenant, []);
    await client.query({ cursor: true });
    expect(sent).toEqual([`begin; ${tenant}; select 1`, 'commit', `begin; ${tenant}; savepoint lectern_guard; select 2; commit`, `begin; ${tenant}`, '<cursor>']);
  });
});
