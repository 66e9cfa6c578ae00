// Caption files: a WebVTT checker and a BCP-47 language tag check, both pure. Uploaded captions
// are checked before they are stored, and the errors (line number + sentence) go back to the
// person who uploaded them, so every message says what is wrong and, when it can, how to fix it
// (SRT's comma before the milliseconds is the classic one).
//
// What is checked (W3C WebVTT, "file syntax" essentials): the 'WEBVTT' signature line (optional
// BOM; text after it only after a space or tab), the header block up to the first blank line,
// then blocks separated by blank lines: NOTE comments anywhere, STYLE and REGION blocks before the
// first cue, cues = optional identifier line, a timing line 'start --> end [settings]' with
// timestamps hh:mm:ss.ttt or mm:ss.ttt (minutes and seconds below 60, end after start, starts
// never going back in time), valid settings, and cue text that never contains '-->'. Cue text
// markup (<b>, <c.x>, <00:01.000>) is not checked: players tolerate it. The size limit is the
// caller's.

export type WebVttCheck =
  | { ok: true; cues: number; /** normalized: BOM removed, CRLF (and lone CR) → LF */ text: string }
  | { ok: false; errors: { line: number; message: string }[] };

/** At most this many errors are reported (the first ones). */
export const MAX_WEBVTT_ERRORS = 20;

const TIMING = /^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$/;
const TIMESTAMP = /^(?:(\d{2,}):)?(\d{2}):(\d{2})\.(\d{3})$/;
const KNOWN_SETTINGS = 'vertical, line, position, size, align, region';

/** Validates a WebVTT file (see the header); ok with the cue count and the normalized text, or the
 *  first 20 errors with their 1-based line numbers. */
export function checkWebVtt(text: string): WebVttCheck {
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const lines = normalized.split('\n');
  const errors: { line: number; message: string }[] = [];
  const fail = (index: number, message: string): void => {
    if (errors.length < MAX_WEBVTT_ERRORS) errors.push({ line: index + 1, message });
  };

  lines.forEach((line, index) => {
    if (line.includes('\0')) fail(index, 'the line contains a NUL character: this looks like a binary file, not WebVTT text');
  });

  // The signature line.
  const signature = lines[0] ?? '';
  let i = 1;
  if (normalized.trim() === '') {
    fail(0, "the file is empty: a WebVTT file starts with the line 'WEBVTT'");
  } else if (!/^WEBVTT(?:[ \t]|$)/.test(signature)) {
    const hint = /^\d+$/.test(signature.trim()) ? ' (this looks like an SRT file: convert it to WebVTT)' : '';
    fail(0, `the first line must be 'WEBVTT' (optionally followed by a space and text)${hint}`);
    // No signature, but the file starts with a cue (SRT does): check its cues from the top.
    if (signature.includes('-->') || (lines[1] ?? '').includes('-->')) i = 0;
  } else if (signature.includes('-->')) {
    fail(0, "the 'WEBVTT' line cannot contain '-->'");
  }

  // The header: up to the first blank line. A timing line there means the blank line is missing.
  while (i > 0 && i < lines.length && lines[i] !== '') {
    if ((lines[i] as string).includes('-->')) {
      fail(i, "a blank line must separate the 'WEBVTT' header from the first cue");
      break;
    }
    i++;
  }

  let cues = 0;
  let previousStart = -1;
  let previousStartText = '';
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    // One block: the lines up to the next blank line.
    const first = i;
    while (i < lines.length && lines[i] !== '') i++;
    const block = lines.slice(first, i);
    const head = block[0] as string;

    if (/^NOTE(?:[ \t]|$)/.test(head)) {
      block.forEach((line, k) => {
        if (line.includes('-->')) fail(first + k, "a NOTE comment cannot contain '-->'");
      });
      continue;
    }
    const kind = /^(STYLE|REGION)[ \t]*$/.exec(head)?.[1];
    if (kind !== undefined) {
      if (cues > 0) fail(first, `${kind} blocks must come before the first cue`);
      block.forEach((line, k) => {
        if (line.includes('-->')) fail(first + k, `a ${kind} block cannot contain '-->'`);
      });
      continue;
    }

    // A cue: [identifier] timing line, then text.
    const timingAt = head.includes('-->') ? 0 : 1;
    const timingLine = block[timingAt];
    if (timingLine === undefined || !timingLine.includes('-->')) {
      fail(first, "this block is not a cue (it has no 'hh:mm:ss.ttt --> hh:mm:ss.ttt' timing line), nor a NOTE, STYLE or REGION block");
      continue;
    }
    cues++;
    const lineIndex = first + timingAt;
    const timing = TIMING.exec(timingLine);
    if (timing === null) {
      fail(lineIndex, "the cue timing must look like '00:00:01.000 --> 00:00:04.000', with a space or tab on each side of '-->'");
    } else {
      const [, startText = '', endText = '', settings] = timing;
      const start = parseTimestamp(startText, lineIndex, fail);
      const end = parseTimestamp(endText, lineIndex, fail);
      if (start !== null && end !== null) {
        if (end <= start) fail(lineIndex, `the cue ends (${endText}) before or when it starts (${startText}): the end must be later`);
        if (start < previousStart) {
          fail(lineIndex, `the cue starts at ${startText}, before the previous cue (${previousStartText}): cues must be in start-time order`);
        }
      }
      if (start !== null) {
        previousStart = Math.max(previousStart, start);
        if (previousStart === start) previousStartText = startText;
      }
      if (settings !== undefined) checkSettings(settings, lineIndex, fail);
    }
    block.slice(timingAt + 1).forEach((line, k) => {
      if (line.includes('-->')) {
        fail(lineIndex + 1 + k, "cue text cannot contain '-->' (is the blank line before the next cue missing, or does it hold spaces?)");
      }
    });
  }

  return errors.length > 0 ? { ok: false, errors } : { ok: true, cues, text: normalized };
}

/** Seconds, or null after reporting why the text is not a WebVTT timestamp. */
function parseTimestamp(text: string, lineIndex: number, fail: (index: number, message: string) => void): number | null {
  const match = TIMESTAMP.exec(text);
  if (match === null) {
    const hint = /^[\d:]+,\d{3}$/.test(text) ? " (WebVTT puts a '.' before the milliseconds, not ',' as SRT does)" : '';
    fail(lineIndex, `'${text}' is not a timestamp: use hh:mm:ss.ttt or mm:ss.ttt${hint}`);
    return null;
  }
  const [, hours = '0', minutes = '0', seconds = '0', millis = '0'] = match;
  if (Number(minutes) > 59 || Number(seconds) > 59) {
    fail(lineIndex, `'${text}' has minutes or seconds of 60 or more`);
    return null;
  }
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(millis) / 1000;
}

const PERCENT = String.raw`(?:100(?:\.0+)?|\d{1,2}(?:\.\d+)?)%`;
const SETTING_VALUES: Record<string, RegExp> = {
  vertical: /^(?:rl|lr)$/,
  line: new RegExp(String.raw`^(?:-?\d+|${PERCENT})(?:,(?:start|center|end))?$`),
  position: new RegExp(String.raw`^${PERCENT}(?:,(?:line-left|center|line-right))?$`),
  size: new RegExp(String.raw`^${PERCENT}$`),
  align: /^(?:start|center|end|left|right)$/,
  region: /^[^\s]+$/,
};

function checkSettings(settings: string, lineIndex: number, fail: (index: number, message: string) => void): void {
  for (const setting of settings.split(/[ \t]+/).filter((s) => s !== '')) {
    const colon = setting.indexOf(':');
    const name = colon > 0 ? setting.slice(0, colon) : '';
    const value = colon > 0 ? setting.slice(colon + 1) : '';
    const pattern = SETTING_VALUES[name];
    if (pattern === undefined) {
      fail(lineIndex, `unknown cue setting '${setting}' (settings are name:value, one of ${KNOWN_SETTINGS})`);
    } else if (!pattern.test(value)) {
      fail(lineIndex, `the cue setting '${setting}' has an invalid value`);
    }
  }
}

// ---- language tags ----

/** A BCP-47 (RFC 5646) language tag for a caption track, e.g. 'en', 'pt-BR', 'zh-Hant',
 *  'es-419', 'sl-rozaj', in its conventional case (language lowercase, Script titlecase, REGION
 *  uppercase, the rest lowercase). null when the text is not a well-formed tag: wrong shape,
 *  repeated variant or extension, a private-use-only or grandfathered tag ('x-foo', 'i-klingon'),
 *  '_' instead of '-'. Well-formed, not checked against the IANA registry. */
export function normalizeLanguageTag(tag: string): string | null {
  const text = tag.trim();
  if (text === '' || text.length > 64 || !/^[A-Za-z0-9-]+$/.test(text)) return null;
  const parts = text.toLowerCase().split('-');
  const out: string[] = [];
  let k = 0;
  const at = (): string => parts[k] ?? '';

  // language: 2-3 letters (+ up to three 3-letter extlangs), or 5-8 letters (4 is reserved).
  if (/^[a-z]{2,3}$/.test(at())) {
    out.push(at());
    k++;
    for (let ext = 0; ext < 3 && /^[a-z]{3}$/.test(at()); ext++, k++) out.push(at());
  } else if (/^[a-z]{5,8}$/.test(at())) {
    out.push(at());
    k++;
  } else {
    return null;
  }
  if (/^[a-z]{4}$/.test(at())) {
    const script = at();
    out.push(script.charAt(0).toUpperCase() + script.slice(1));
    k++;
  }
  if (/^(?:[a-z]{2}|\d{3})$/.test(at())) {
    out.push(at().toUpperCase());
    k++;
  }
  const variants = new Set<string>();
  while (/^(?:[a-z0-9]{5,8}|\d[a-z0-9]{3})$/.test(at())) {
    if (variants.has(at())) return null;
    variants.add(at());
    out.push(at());
    k++;
  }
  const singletons = new Set<string>();
  while (/^[a-wyz0-9]$/.test(at())) {
    if (singletons.has(at())) return null;
    singletons.add(at());
    out.push(at());
    k++;
    if (!/^[a-z0-9]{2,8}$/.test(at())) return null;
    while (/^[a-z0-9]{2,8}$/.test(at())) out.push(parts[k++] as string);
  }
  if (at() === 'x') {
    out.push('x');
    k++;
    if (!/^[a-z0-9]{1,8}$/.test(at())) return null;
    while (/^[a-z0-9]{1,8}$/.test(at())) out.push(parts[k++] as string);
  }
  return k === parts.length ? out.join('-') : null;
}
