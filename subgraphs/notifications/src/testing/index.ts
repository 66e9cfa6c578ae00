// Test and demo helpers: events as the relay would deliver them, inbox seeds, and a reader for
// the development mail sink (so tests and people can check what was "sent").
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { inTenant } from '@lectern/kernel';
import type { EventDefinition, EventEnvelope } from '@lectern/kernel/events';
import { eventEnvelope } from '@lectern/kernel/outbox';
import type { Category } from '../modules/preferences/categories.ts';

/** An envelope of `def`, exactly as a producer's outbox would record it (the kernel's eventEnvelope). */
export function envelope<E extends EventDefinition>(
  def: E,
  args: { tenantId: string; payload: z.input<E['payload']>; aggregateId?: string; id?: string; occurredAt?: Date },
): EventEnvelope<z.infer<E['payload']>> {
  return eventEnvelope(def, { ...args, aggregateId: args.aggregateId ?? randomUUID() });
}

/** Enqueues an envelope on a consumer's event queue as the relay does (jobId = event id). */
export async function deliver(queue: Queue, event: EventEnvelope, opts: { jobId?: string } = {}): Promise<void> {
  await queue.add(event.type, event, { jobId: opts.jobId ?? event.id });
}

/** Inbox items straight into the table (for inbox and pagination tests), oldest first. */
export async function seedNotifications(
  orm: MikroORM,
  args: { tenantId: string; userId: string; count: number; category?: Category; read?: boolean; start?: Date },
): Promise<string[]> {
  const start = args.start?.getTime() ?? Date.now() - args.count * 1000;
  return inTenant(orm, args.tenantId, (uow) =>
    uow.write(async (em) => {
      const ids: string[] = [];
      for (let i = 0; i < args.count; i++) {
        const id = randomUUID();
        ids.push(id);
        await em.execute(
          `insert into notifications (id, tenant_id, user_id, category, title, body, link, source_event_id, created_at, read_at)
           values (?, ?, ?, ?, ?, ?, null, ?, ?, ?)`,
          [id, args.tenantId, args.userId, args.category ?? 'SYSTEM', `Seeded notification ${i + 1}`, 'Seeded for a test.', randomUUID(), new Date(start + i * 1000), args.read ? new Date() : null],
        );
      }
      return ids;
    }),
  );
}

export interface SinkMessage {
  file: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

/** Every message in a development mail sink directory, oldest first. */
export async function readMailSink(dir: string): Promise<SinkMessage[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return Promise.all(files.map(async (file) => ({ file, ...parseEml(await readFile(join(dir, file), 'utf8')) })));
}

// ---- a small MIME reader: enough for the messages nodemailer writes ----

function splitHead(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.indexOf('\n\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 2);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

const decodeQp = (s: string) =>
  Buffer.from(
    s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding?.toLowerCase() === 'quoted-printable') return decodeQp(body);
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=). */
const decodeWords = (s: string) =>
  s.replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=\s*/gi, (_m, _cs: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQp(text.replace(/_/g, ' ')),
  );

export function parseEml(raw: string): Omit<SinkMessage, 'file'> {
  const { headers, body } = splitHead(raw.replace(/\r\n/g, '\n'));
  const parts: { type: string; content: string }[] = [];
  const collect = (h: Record<string, string>, b: string) => {
    const type = h['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (type.toLowerCase().startsWith('multipart/') && boundary) {
      for (const chunk of b.split(`--${boundary}`).slice(1)) {
        if (chunk.startsWith('--')) break;
        // The line break before a boundary belongs to the boundary (RFC 2046).
        const part = splitHead(chunk.replace(/^\n/, '').replace(/\n$/, ''));
        collect(part.headers, part.body);
      }
    } else {
      parts.push({ type: type.toLowerCase(), content: decodeBody(b, h['content-transfer-encoding']) });
    }
  };
  collect(headers, body);
  return {
    to: decodeWords(headers.to ?? ''),
    from: decodeWords(headers.from ?? ''),
    subject: decodeWords(headers.subject ?? ''),
    text: parts.find((p) => p.type.startsWith('text/plain'))?.content.trimEnd() ?? '',
    html: parts.find((p) => p.type.startsWith('text/html'))?.content ?? '',
    headers,
  };
}
