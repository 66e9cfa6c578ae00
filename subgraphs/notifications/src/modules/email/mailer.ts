// Where email goes: SMTP through nodemailer when SMTP_URL is set; otherwise a development sink
// that renders each message with nodemailer's stream transport and keeps it as an .eml file in
// MAIL_DIR (open it with any mail client, or read it as text).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { EmailKind } from './email.entity.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailMeta {
  kind: EmailKind;
  dedupeKey: string;
}

export interface Mailer {
  /** Where messages go, for logs: `smtp://host` or the sink directory. */
  readonly target: string;
  send(message: MailMessage, meta: MailMeta): Promise<{ messageId: string }>;
  close(): void;
}

export interface MailerConfig {
  SMTP_URL?: string | undefined;
  MAIL_DIR: string;
  MAIL_FROM: string;
}

/** A file name that is safe everywhere: `<iso-time>-<kind>-<dedupe>.eml`. */
export function emlFileName(at: Date, meta: MailMeta): string {
  const time = at.toISOString().replace(/:/g, '-');
  const kind = meta.kind.toLowerCase().replace(/_/g, '-');
  const dedupe = meta.dedupeKey.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 150);
  return `${time}-${kind}-${dedupe}.eml`;
}

export function createMailer(config: MailerConfig): Mailer {
  if (config.SMTP_URL) {
    const transport = createTransport(config.SMTP_URL);
    const url = new URL(config.SMTP_URL);
    return {
      target: `${url.protocol}//${url.host}`,
      async send(message) {
        const info = await transport.sendMail({ from: config.MAIL_FROM, ...message });
        return { messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let ready: Promise<unknown> | undefined;
  return {
    target: config.MAIL_DIR,
    async send(message, meta) {
      ready ??= mkdir(config.MAIL_DIR, { recursive: true });
      await ready;
      const info = await transport.sendMail({ from: config.MAIL_FROM, ...message });
      const raw = info.message;
      if (!Buffer.isBuffer(raw)) throw new Error('the mail sink expected a buffered message');
      await writeFile(join(config.MAIL_DIR, emlFileName(new Date(), meta)), raw, { flag: 'wx' });
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}
