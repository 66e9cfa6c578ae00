// The two mail transports and the configuration that picks one (no database needed): SMTP
// against a minimal in-process SMTP server, and the development sink's readable .eml files.
import { createServer, type Server } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../env.ts';
import { readMailSink } from '../../testing/index.ts';
import { createMailer, emlFileName } from './mailer.ts';

const message = { to: 'lena@example.org', subject: 'Your weekly digest from Org A: 2 updates', text: 'Hello Lena,\n\n* One\n* Two\n', html: '<p>Hello Lena</p>' };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Just enough SMTP to accept one message and hand back what was sent. */
function smtpServer(): Promise<{ server: Server; port: number; received: Promise<{ from: string; to: string; data: string }> }> {
  let deliver!: (m: { from: string; to: string; data: string }) => void;
  const received = new Promise<{ from: string; to: string; data: string }>((r) => (deliver = r));
  const server = createServer((socket) => {
    let from = '';
    let to = '';
    let data: string | null = null;
    let buffer = '';
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (data !== null) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          deliver({ from, to, data });
          data = null;
          socket.write('250 2.0.0 queued as test-1\r\n');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'MAIL') from = line;
        if (verb === 'RCPT') to = line;
        if (verb === 'DATA') data = '';
        if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write(verb === 'EHLO' || verb === 'HELO' ? '250-test\r\n250 8BITMIME\r\n' : verb === 'DATA' ? '354 go ahead\r\n' : '250 ok\r\n');
      }
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as { port: number }).port, received })));
}

describe('mailer', () => {
  it('sends over SMTP when SMTP_URL is set', async () => {
    const { server, port, received } = await smtpServer();
    try {
      const env = loadEnv({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Lectern Test <test@lectern.local>' });
      const mailer = createMailer(env);
      expect(mailer.target).toBe(`smtp://127.0.0.1:${port}`);
      const sent = await mailer.send(message, { kind: 'DIGEST', dedupeKey: 'digest:WEEKLY:2026-W47:x' });
      expect(sent.messageId).toMatch(/@lectern\.local>$/);
      const got = await received;
      expect(got.from).toContain('<test@lectern.local>');
      expect(got.to).toContain('<lena@example.org>');
      expect(got.data).toContain('Subject: Your weekly digest from Org A: 2 updates');
      mailer.close();
    } finally {
      server.close();
    }
  });

  it('keeps each message as a readable .eml file when SMTP_URL is unset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lectern-sink-'));
    dirs.push(dir);
    const mailer = createMailer(loadEnv({ SMTP_URL: '', MAIL_DIR: dir }));
    expect(mailer.target).toBe(dir);
    await mailer.send(message, { kind: 'COURSE_PUBLISHED', dedupeKey: 'course_published:e1:u1' });
    const [file] = await readdir(dir);
    expect(file).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-course-published-course_published_e1_u1\.eml$/);
    const [read] = await readMailSink(dir);
    expect(read).toMatchObject({ to: 'lena@example.org', from: 'Lectern <no-reply@lectern.local>', subject: message.subject, text: message.text.trimEnd(), html: message.html });
  });

  it('names sink files safely', () => {
    expect(emlFileName(new Date('2026-11-21T08:00:00.000Z'), { kind: 'INVITATION', dedupeKey: 'invitation:a/b:../c' })).toBe('2026-11-21T08-00-00.000Z-invitation-invitation_a_b_.._c.eml');
  });
});

describe('configuration', () => {
  it('has development defaults: the sink under the repository, the public app on :4000, ports 4005 / 5005', () => {
    const env = loadEnv({ SMTP_URL: '', MAIL_DIR: undefined, PUBLIC_APP_URL: undefined, PORT: undefined, WORKER_PORT: undefined, IDENTITY_URL: undefined });
    expect(env.MAIL_DIR).toBe(resolve(import.meta.dirname, '../../../../../.lectern/mail'));
    expect(env).toMatchObject({ SMTP_URL: undefined, PUBLIC_APP_URL: 'http://127.0.0.1:4000', PORT: 4005, WORKER_PORT: 5005, IDENTITY_URL: 'http://127.0.0.1:4001/graphql', MAIL_FROM: 'Lectern <no-reply@lectern.local>' });
  });

  it('refuses an SMTP_URL that is not smtp(s)://', () => {
    expect(() => loadEnv({ SMTP_URL: 'http://mail.example.org' })).toThrow(/SMTP_URL must start with smtp:\/\/ or smtps:\/\//);
  });
});
