// deferBegin: a transaction's BEGIN travels with its first statement (one round trip fewer
// per unit of work) without changing what PostgreSQL sees.
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { deferBegin } from '../src/orm.ts';

function fakeClient() {
  const sent: string[] = [];
  const client = {
    query: async (text: unknown, values?: unknown[]) => {
      sent.push(typeof text === 'string' ? `${text}${values?.length ? ` ${JSON.stringify(values)}` : ''}` : '<cursor>');
      if (typeof text === 'string' && text.includes(';')) return text.split(';').map((t) => ({ command: t.trim().split(' ')[0]!.toUpperCase(), rows: [{ t: t.trim() }] }));
      return { command: 'SELECT', rows: [{ t: text }] };
    },
  };
  deferBegin(client as unknown as pg.Client);
  return { client: client as unknown as { query: (...a: unknown[]) => Promise<{ rows: { t: string }[] }> }, sent };
}

describe('deferBegin', () => {
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
});
