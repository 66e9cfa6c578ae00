// The gateway's graphql-ws endpoint as real clients meet it, independent of any subscription
// field: authentication at connection_init (4403), the init timeout (4408), the socket limit
// per user (4429), termination of a client that stops answering pings, token expiry and
// refresh, the document limits of HTTP, the Origin check, and queries over the socket.
// Only identity (tokens, sessions) and the gateway run here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createTestDatabase, gql, idem, type TestDatabase } from '@lectern/testkit';
import { accessTokenFor, seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';

const PROTOCOL = 'graphql-transport-ws';
let db: TestDatabase;
let identity: Awaited<ReturnType<typeof startIdentity>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let wsUrl: string;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;

beforeAll(async () => {
  db = await createTestDatabase({ identity: identityMigrations }, 'wsproto');
  identity = await startIdentity(identityEnv(db.env));
  gateway = await startGateway(
    gatewayEnv({ ...db.env, IDENTITY_URL: identity.url, SESSION_CHECK_SECONDS: '0', WS_INIT_TIMEOUT_MS: '400', WS_PING_INTERVAL_MS: '300', WS_MAX_SOCKETS_PER_USER: '2', BODY_LIMIT_BYTES: '20000' }),
  );
  wsUrl = gateway.url.replace(/^http/, 'ws');
  A = await seedOrganizationWithPeople(identity.deps.orm, 'acme');
  B = await seedOrganizationWithPeople(identity.deps.orm, 'globex');
}, 60_000);
afterAll(async () => {
  await gateway?.close();
  await identity?.close();
  await db?.drop();
});

const token = (who: Parameters<typeof accessTokenFor>[1], org: { id: string }, ttl = 900) => accessTokenFor(identity.deps.orm, who, org, ttl);

/** A raw socket speaking the protocol; resolves its close code and reason. */
function raw(opts: { autoPong?: boolean; origin?: string } = {}) {
  const ws = new WebSocket(wsUrl, PROTOCOL, { autoPong: opts.autoPong ?? true, ...(opts.origin ? { origin: opts.origin } : {}) });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    messages.push(JSON.parse(String(d)) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  const message = async (type: string) => {
    for (;;) {
      const m = messages.find((x) => x.type === type);
      if (m) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { ws, opened, closed, message, send: (m: object) => ws.send(JSON.stringify(m)) };
}

function client(authorization: string | undefined, extra: Partial<Parameters<typeof createClient>[0]> = {}): { client: Client; closed: Promise<{ code: number; reason: string }> } {
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const c = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: authorization ? { authorization } : {},
    on: { closed: (e) => resolveClosed({ code: (e as { code: number }).code, reason: String((e as { reason: string }).reason) }) },
    onNonLazyError: () => {},
    ...extra,
  });
  return { client: c, closed };
}

const query = <T = Record<string, unknown>>(c: Client, q: string) =>
  new Promise<{ data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
    let result: { data?: T } = {};
    c.subscribe({ query: q }, { next: (r) => (result = r as typeof result), error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(new Error(`closed ${(e as { code?: number }).code} ${(e as { reason?: string }).reason}`))), complete: () => resolve(result) });
  });

describe('graphql-ws at the gateway', () => {
  it('closes 4408 when connection_init does not come in time', async () => {
    const s = raw();
    await s.opened;
    expect((await s.closed).code).toBe(4408);
  });

  it('closes 4403 without a token and with a bad one', async () => {
    for (const params of [{}, { authorization: 'Bearer not-a-token' }, { authorization: 'lectern' }]) {
      const s = raw();
      await s.opened;
      s.send({ type: 'connection_init', payload: params });
      expect((await s.closed).code).toBe(4403);
    }
  });

  it('authenticates at connection_init and runs queries over the socket', async () => {
    const t = await token(A.learner, A.org);
    const { client: c } = client(`Bearer ${t}`);
    try {
      const r = await query<{ me: { user: { id: string } } }>(c, '{ me { user { id displayName } } }');
      expect(r.errors).toBeUndefined();
      expect(r.data?.me.user).toBeTruthy();
    } finally {
      await c.dispose();
    }
  });

  it('refuses more sockets per user than allowed with 4429', async () => {
    const t = await token(A.instructor, A.org);
    const first = client(`Bearer ${t}`);
    const second = client(`Bearer ${t}`);
    try {
      await query(first.client, '{ __typename }');
      await query(second.client, '{ __typename }');
      const third = raw();
      await third.opened;
      third.send({ type: 'connection_init', payload: { authorization: `Bearer ${t}` } });
      expect((await third.closed).code).toBe(4429);
    } finally {
      await first.client.dispose();
      await second.client.dispose();
    }
    // Another user is not affected by the first one's limit.
    const other = raw();
    await other.opened;
    other.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(B.learner, B.org)}` } });
    expect(await other.message('connection_ack')).toBeTruthy();
    other.ws.close();
  });

  it('terminates a client that stops answering pings, and keeps one that answers', async () => {
    const t = await token(A.admin, A.org);
    const deaf = raw({ autoPong: false });
    const alive = raw();
    await Promise.all([deaf.opened, alive.opened]);
    for (const s of [deaf, alive]) s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t}` } });
    await Promise.all([deaf.message('connection_ack'), alive.message('connection_ack')]);
    let pings = 0;
    const threePings = new Promise<void>((resolve) => alive.ws.on('ping', () => ++pings === 3 && resolve()));
    // Terminated without a close frame: the client sees 1006.
    expect((await deaf.closed).code).toBe(1006);
    await threePings;
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
  });

  it('closes 4403 when the access token expires, unless the client refreshed it in time', async () => {
    const short = await token(A.learner, A.org, 4);
    const expiring = raw();
    const refreshed = raw();
    await Promise.all([expiring.opened, refreshed.opened]);
    for (const s of [expiring, refreshed]) s.send({ type: 'connection_init', payload: { authorization: `Bearer ${short}` } });
    await Promise.all([expiring.message('connection_ack'), refreshed.message('connection_ack')]);
    refreshed.send({ type: 'ping', payload: { authorization: `Bearer ${await token(A.learner, A.org, 900)}` } });
    await refreshed.message('pong');
    const closed = await expiring.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/expired/);
    // Past the first token's expiry, the refreshed socket still serves.
    refreshed.send({ id: '1', type: 'subscribe', payload: { query: '{ me { user { id } } }' } });
    const next = (await refreshed.message('next')) as { payload: { data: { me: { user: { id: string } } } } };
    expect(next.payload.data.me.user.id).toBeTruthy();
    refreshed.ws.close();
  });

  it('closes 4403 within four keep-alive rounds once the session is signed out', async () => {
    const login = await gql(gateway.url, 'mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken errors { code } } }', {
      i: { email: A.instructor.email, password: TEST_PASSWORD, organizationSlug: 'acme', idempotencyKey: idem() },
    });
    const { accessToken, refreshToken } = login.data!.login as { accessToken: string; refreshToken: string };
    const s = raw();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${accessToken}` } });
    await s.message('connection_ack');
    const out = await gql(gateway.url, 'mutation($i: LogoutInput!) { logout(input: $i) { errors { code } } }', { i: { refreshToken, idempotencyKey: idem() } }, { token: accessToken });
    expect(out.errors).toBeUndefined();
    const closed = await s.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/signed out/);
  });

  it("closes 4403 when a refresh names another user", async () => {
    const s = raw();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(A.learner, A.org)}` } });
    await s.message('connection_ack');
    s.send({ type: 'ping', payload: { authorization: `Bearer ${await token(A.admin, A.org)}` } });
    expect((await s.closed).code).toBe(4403);
  });

  it('applies the HTTP document limits', async () => {
    const s = raw();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${await token(B.admin, B.org)}` } });
    await s.message('connection_ack');
    const aliased = `{ me { user { id } } ${'a: __typename '.repeat(40)} }`;
    s.send({ id: 'aliases', type: 'subscribe', payload: { query: aliased } });
    const err = (await s.message('error')) as { payload: { extensions: { code: string } }[] };
    expect(err.payload[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // A message larger than the body limit closes the socket (1009: message too big).
    s.send({ id: 'big', type: 'subscribe', payload: { query: `{ __typename } #${'x'.repeat(30_000)}` } });
    expect((await s.closed).code).toBe(1009);
  });

  it('refuses an upgrade from a foreign browser origin', async () => {
    const s = raw({ origin: 'https://evil.example.net' });
    await expect(s.opened).rejects.toThrow(/403/);
  });
});

describe('subscriptions over HTTP', () => {
  it('are answered with where to send them', async () => {
    const r = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'subscription { notificationAdded { id } }' }) });
    const body = (await r.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors[0]!.message).toMatch(/WebSocket/);
  });
});
