// Plain-text and simple HTML bodies of every email. Names and addresses come from identity at
// send time; everything user-controlled is escaped in the HTML part.
import type { DigestFrequency } from '../preferences/categories.ts';
import type { MailMessage } from './mailer.ts';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function html(paragraphs: string[], footer: string): string {
  return [
    '<!doctype html>',
    '<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2937; max-width: 640px">',
    ...paragraphs.map((p) => `<p>${p}</p>`),
    `<hr><p style="font-size: 12px; color: #6b7280">${footer}</p>`,
    '</body></html>',
    '',
  ].join('\n');
}

const link = (href: string, label: string) => `<a href="${escape(href)}">${escape(label)}</a>`;

export interface Recipient {
  email: string;
  displayName: string;
}

export function invitationEmail(args: { to: Recipient; organizationName: string; acceptUrl: string; expiresAt: Date }): MailMessage {
  const org = args.organizationName;
  const until = args.expiresAt.toUTCString();
  return {
    to: args.to.email,
    subject: `You're invited to join ${org} on Lectern`,
    text: [
      `Hello ${args.to.displayName},`,
      '',
      `You have been invited to join ${org} on Lectern.`,
      '',
      `Accept the invitation: ${args.acceptUrl}`,
      '',
      `The link works until ${until}. If you did not expect this invitation, ignore this email.`,
      '',
    ].join('\n'),
    html: html(
      [
        `Hello ${escape(args.to.displayName)},`,
        `You have been invited to join <strong>${escape(org)}</strong> on Lectern.`,
        link(args.acceptUrl, 'Accept the invitation'),
        `The link works until ${escape(until)}.`,
      ],
      'If you did not expect this invitation, ignore this email.',
    ),
  };
}

function preferencesFooter(preferencesUrl: string) {
  return {
    text: `Choose which emails you get and how often: ${preferencesUrl}`,
    html: `Choose which emails you get and how often: ${link(preferencesUrl, 'notification preferences')}.`,
  };
}

export function newCourseEmail(args: { to: Recipient; organizationName: string; title: string; body: string; courseUrl: string; preferencesUrl: string }): MailMessage {
  const footer = preferencesFooter(args.preferencesUrl);
  return {
    to: args.to.email,
    subject: args.title,
    text: [`Hello ${args.to.displayName},`, '', args.body, '', `Open it: ${args.courseUrl}`, '', '--', footer.text, ''].join('\n'),
    html: html([`Hello ${escape(args.to.displayName)},`, escape(args.body), link(args.courseUrl, 'Open the course')], footer.html),
  };
}

export interface DigestEntry {
  title: string;
  body: string;
  link: string | null;
  createdAt: Date;
}

export function digestEmail(args: {
  to: Recipient;
  organizationName: string;
  frequency: DigestFrequency;
  entries: DigestEntry[];
  timeZone: string;
  inboxUrl: string;
  preferencesUrl: string;
}): MailMessage {
  const n = args.entries.length;
  const period = args.frequency === 'WEEKLY' ? 'weekly' : 'daily';
  const when = new Intl.DateTimeFormat('en-GB', { timeZone: args.timeZone, dateStyle: 'medium' });
  const footer = preferencesFooter(args.preferencesUrl);
  return {
    to: args.to.email,
    subject: `Your ${period} digest from ${args.organizationName}: ${n} ${n === 1 ? 'update' : 'updates'}`,
    text: [
      `Hello ${args.to.displayName},`,
      '',
      `Here is what happened in ${args.organizationName}:`,
      '',
      ...args.entries.flatMap((e) => [`* ${e.title} (${when.format(e.createdAt)})`, `  ${e.body}`, ...(e.link ? [`  ${e.link}`] : []), '']),
      `Your inbox: ${args.inboxUrl}`,
      '',
      '--',
      footer.text,
      '',
    ].join('\n'),
    html: html(
      [
        `Hello ${escape(args.to.displayName)},`,
        `Here is what happened in <strong>${escape(args.organizationName)}</strong>:`,
        `<ul>${args.entries
          .map((e) => `<li>${e.link ? link(e.link, e.title) : escape(e.title)} <small>(${escape(when.format(e.createdAt))})</small><br>${escape(e.body)}</li>`)
          .join('')}</ul>`,
        link(args.inboxUrl, 'Open your inbox'),
      ],
      footer.html,
    ),
  };
}
