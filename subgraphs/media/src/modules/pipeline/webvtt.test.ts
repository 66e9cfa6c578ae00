// checkWebVtt on valid files (every block kind, BOM, CRLF) and on the mistakes people make
// (missing header, SRT timings, end before start, unordered cues, '-->' in text), and the
// language tag check.
import { describe, expect, it } from 'vitest';
import { checkWebVtt, MAX_WEBVTT_ERRORS, normalizeLanguageTag, type WebVttCheck } from './webvtt.ts';

const VALID = `WEBVTT - Lecture 1 captions
Kind: captions
Language: en

STYLE
::cue { color: yellow }

REGION
id:speaker width:40%

NOTE This is a comment
spanning two lines

intro
00:00:01.000 --> 00:00:04.000
Hello and welcome.

00:04.500 --> 00:06.000 align:start position:10%,line-left line:-2 size:80% vertical:rl region:speaker
<v Teacher>Today: <b>HLS</b>.

01:00:00.000 --> 01:00:02.500
One hour in.
`;

function errorsOf(check: WebVttCheck): { line: number; message: string }[] {
  if (check.ok) throw new Error('expected errors, the file was accepted');
  return check.errors;
}

describe('checkWebVtt', () => {
  it('accepts a file with header text, STYLE, REGION, NOTE, ids, settings and both timestamp forms', () => {
    expect(checkWebVtt(VALID)).toEqual({ ok: true, cues: 3, text: VALID });
  });

  it('accepts the bare minimum and a file with no cue', () => {
    expect(checkWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\nHi')).toMatchObject({ ok: true, cues: 1 });
    expect(checkWebVtt('WEBVTT\n')).toMatchObject({ ok: true, cues: 0 });
    expect(checkWebVtt('WEBVTT\tFrench\n\n00:01.000 --> 00:02.000\n')).toMatchObject({ ok: true, cues: 1 });
  });

  it('removes a BOM and turns CRLF (and CR) into LF', () => {
    const check = checkWebVtt(`\uFEFF${VALID.replace(/\n/g, '\r\n')}`);
    expect(check).toEqual({ ok: true, cues: 3, text: VALID });
    expect(checkWebVtt('WEBVTT\r\r00:01.000 --> 00:02.000\rHi\r')).toEqual({ ok: true, cues: 1, text: 'WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n' });
  });

  it('refuses a missing or wrong signature', () => {
    expect(errorsOf(checkWebVtt('00:01.000 --> 00:02.000\nHi\n'))[0]).toMatchObject({ line: 1, message: expect.stringMatching(/first line must be 'WEBVTT'/) });
    expect(errorsOf(checkWebVtt('WEBVTTX\n'))[0]?.line).toBe(1);
    expect(errorsOf(checkWebVtt('webvtt\n'))[0]?.line).toBe(1);
    expect(errorsOf(checkWebVtt(''))[0]?.message).toMatch(/empty/);
    expect(errorsOf(checkWebVtt('\uFEFF'))[0]?.message).toMatch(/empty/);
  });

  it('explains an SRT file', () => {
    const errors = errorsOf(checkWebVtt('1\n00:00:01,000 --> 00:00:02,000\nHello\n'));
    expect(errors[0]).toMatchObject({ line: 1, message: expect.stringMatching(/SRT/) });
    expect(errors[1]).toMatchObject({ line: 2, message: expect.stringMatching(/'\.' before the milliseconds/) });
  });

  it('refuses bad timings with the line number', () => {
    const bad = (timing: string) => errorsOf(checkWebVtt(`WEBVTT\n\n${timing}\ntext\n`));
    expect(bad('00:01.000 -> 00:02.000')[0]).toMatchObject({ line: 3, message: expect.stringMatching(/not a cue/) });
    expect(bad('00:01.000-->00:02.000')[0]?.message).toMatch(/space or tab on each side/);
    expect(bad('00:01 --> 00:02.000')[0]?.message).toMatch(/'00:01' is not a timestamp/);
    expect(bad('0:00:01.000 --> 0:00:02.000')[0]?.message).toMatch(/not a timestamp/);
    expect(bad('00:61.000 --> 01:02.000')[0]?.message).toMatch(/60 or more/);
    expect(bad('00:01:60.000 --> 00:02:00.000')[0]?.message).toMatch(/60 or more/);
    expect(bad('00:05.000 --> 00:02.000')[0]).toMatchObject({ line: 3, message: expect.stringMatching(/ends \(00:02\.000\) before or when it starts/) });
    expect(bad('00:05.000 --> 00:05.000')[0]?.message).toMatch(/before or when it starts/);
    expect(bad('00:01.000 --> 00:02.000 align:middle')[0]?.message).toMatch(/'align:middle' has an invalid value/);
    expect(bad('00:01.000 --> 00:02.000 colour:red')[0]?.message).toMatch(/unknown cue setting 'colour:red'/);
    expect(bad('00:01.000 --> 00:02.000 size:120%')[0]?.message).toMatch(/invalid value/);
  });

  it('refuses cues whose start goes back in time', () => {
    const text = 'WEBVTT\n\n00:05.000 --> 00:06.000\na\n\n00:05.000 --> 00:07.000\nsame start is fine\n\n00:04.000 --> 00:08.000\nb\n';
    expect(errorsOf(checkWebVtt(text))).toEqual([{ line: 9, message: expect.stringMatching(/starts at 00:04\.000, before the previous cue \(00:05\.000\)/) }]);
  });

  it("refuses '-->' in cue text, NOTE blocks and a header without its blank line", () => {
    expect(errorsOf(checkWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\na\n00:03.000 --> 00:04.000\nb\n'))[0]).toMatchObject({ line: 5, message: expect.stringMatching(/cue text cannot contain '-->'/) });
    expect(errorsOf(checkWebVtt('WEBVTT\n\nNOTE a --> b\n'))[0]?.message).toMatch(/NOTE comment cannot contain/);
    expect(errorsOf(checkWebVtt('WEBVTT\n00:01.000 --> 00:02.000\na\n'))[0]).toMatchObject({ line: 2, message: expect.stringMatching(/blank line must separate/) });
  });

  it('refuses STYLE after the first cue and stray text blocks', () => {
    expect(errorsOf(checkWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\na\n\nSTYLE\n::cue {}\n'))[0]).toMatchObject({ line: 6, message: 'STYLE blocks must come before the first cue' });
    expect(errorsOf(checkWebVtt('WEBVTT\n\njust some text\nmore text\n'))[0]).toMatchObject({ line: 3, message: expect.stringMatching(/not a cue/) });
  });

  it('refuses binary data and reports at most 20 errors', () => {
    expect(errorsOf(checkWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\na\0b\n'))[0]).toMatchObject({ line: 4, message: expect.stringMatching(/NUL/) });
    const many = `WEBVTT\n\n${Array.from({ length: 50 }, () => '00:09.000 --> 00:01.000\nx\n').join('\n')}`;
    expect(errorsOf(checkWebVtt(many))).toHaveLength(MAX_WEBVTT_ERRORS);
  });
});

describe('normalizeLanguageTag', () => {
  it.each([
    ['en', 'en'],
    ['EN', 'en'],
    ['pt-br', 'pt-BR'],
    ['zh-hant', 'zh-Hant'],
    ['ZH-HANT-TW', 'zh-Hant-TW'],
    ['es-419', 'es-419'],
    ['sl-rozaj-biske', 'sl-rozaj-biske'],
    ['de-CH-1901', 'de-CH-1901'],
    ['zh-yue-HK', 'zh-yue-HK'],
    ['en-US-u-ca-gregory', 'en-US-u-ca-gregory'],
    ['en-x-lecture', 'en-x-lecture'],
    [' fr-CA ', 'fr-CA'],
  ])('%s → %s', (tag, expected) => {
    expect(normalizeLanguageTag(tag)).toBe(expected);
  });

  it.each(['', 'e', 'englishlanguage', 'en_US', 'en-', '-en', 'en--US', 'abcd', 'x-private', 'i-klingon', 'de-1901-1901', 'en-a-foo-a-bar', 'en-u', 'en-US-toolongsubtag', '123', 'en US'])(
    '%j is not a tag',
    (tag) => {
      expect(normalizeLanguageTag(tag)).toBeNull();
    },
  );
});
