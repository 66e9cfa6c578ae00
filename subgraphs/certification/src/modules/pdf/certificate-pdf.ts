// The certificate PDF: one printable A4-landscape page (logo, learner, course, organization,
// dates, a QR code to the public verification page) with the signed Open Badges 3.0 credential
// attached as `credential.json`, so the PDF alone carries the proof and the public verifier can
// pull it back out (extract.ts). The BullMQ certificate job calls renderCertificatePdf; this file
// knows nothing about queues, storage or the database.
//
// Choices worth knowing:
// - Text is set in DejaVu Sans (regular + bold, subset-embedded through fontkit), which covers
//   Latin, Greek and Cyrillic. Characters it lacks (CJK, most emoji) are printed as '?' instead
//   of failing the job: a certificate with "???" is fixable by re-rendering, a crashed job is not.
// - The same input gives the same bytes: dates come from issuedAt, pdf-lib's "random" resource
//   names come from a generator with a fixed seed, and the font subset tags and the trailer /ID
//   are hashes of the input. A job that runs twice after a crash writes an identical file.
// - The QR code is drawn as vector squares (not a bitmap), so it stays sharp at any print size.
// - Nothing ever overflows the page: every variable text is fitted into a fixed box by wrapping,
//   then shrinking, and as a last resort cutting with '…'.
// - The attachment's MIME type is 'application/json': every PDF tool understands it, the file
//   is plain JSON, and the verifier finds the credential by its name, not by type.
//   'application/vc+ld+json' was only a draft name (VC 2.0 registered 'application/vc').
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fontkit from '@pdf-lib/fontkit';
import { AFRelationship, PDFDocument, PDFHexString, rgb, type Color, type PDFFont, type PDFImage, type PDFPage } from 'pdf-lib';
import QRCode from 'qrcode';
import { CREDENTIAL_ATTACHMENT, MAX_CREDENTIAL_BYTES } from './attachment.ts';

export { CREDENTIAL_ATTACHMENT, MAX_CREDENTIAL_BYTES } from './attachment.ts';
export const CREDENTIAL_MIME_TYPE = 'application/json';
export const CREDENTIAL_DESCRIPTION = 'Open Badges 3.0 credential (signed)';
/** Longer URLs make the QR code too dense to scan reliably from paper. */
export const MAX_VERIFY_URL_LENGTH = 256;

export interface CertificatePdfInput {
  certificateId: string;
  organizationName: string;
  logo: { bytes: Uint8Array; type: 'png' | 'jpeg' } | null;
  learnerName: string;
  courseTitle: string;
  issuedAt: Date;
  validUntil: Date | null;
  /** What the QR code and the printed link point to. */
  verifyUrl: string;
  /** The signed credential, embedded verbatim as credential.json (application/json). */
  credentialJson: string;
}

/** The input cannot make a certificate (bad logo, empty name, invalid date...). Retrying the
 *  same input fails the same way, so a job should not retry it. */
export class CertificateInputError extends Error {
  override name = 'CertificateInputError';
}

// A4 landscape, in PDF points (1/72 inch), origin bottom left.
const PAGE_WIDTH = 841.89;
const PAGE_HEIGHT = 595.28;
const CENTER_X = PAGE_WIDTH / 2;

/** Where the QR code's modules are drawn (points, origin bottom left; quiet zone outside it). */
export const QR_CODE_BOX = { x: PAGE_WIDTH - 70 - 100, y: 95, size: 100 } as const; // 100 pt ≈ 3.5 cm

const CONTENT_TOP = PAGE_HEIGHT - 56;
const CONTENT_BOTTOM = 50;
/** The centre column ends above the QR code and its quiet zone. */
const FLOW_BOTTOM = QR_CODE_BOX.y + QR_CODE_BOX.size + 22;
const FLOW_WIDTH = PAGE_WIDTH - 2 * 84;
const LOGO_BOX = { width: 220, height: 56 };
/** The printed URL, right-aligned under the QR code; the dates column ends before it. */
const URL_WIDTH = 260;
const DATES_LEFT = 72;
const DATES_WIDTH = QR_CODE_BOX.x + QR_CODE_BOX.size - URL_WIDTH - 24 - DATES_LEFT;

const INK = rgb(0.11, 0.13, 0.18);
const MUTED = rgb(0.36, 0.39, 0.44);
const ACCENT = rgb(0.09, 0.29, 0.45);
const BLACK = rgb(0, 0, 0);

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** "30 November 2026": English month names, UTC, independent of the machine's locale. */
export function formatCertificateDate(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** Renders the certificate (see the header). onProgress gets a few increasing percentages,
 *  the last one 100 once the bytes are ready. Throws CertificateInputError on bad input. */
export async function renderCertificatePdf(
  input: CertificatePdfInput,
  onProgress?: (percent: number) => void,
): Promise<Uint8Array> {
  const credentialBytes = checkInput(input);
  const fontFiles = await loadFontFiles();
  onProgress?.(5);

  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.registerFontkit(parsedFontkit);
  const regular = new Typeface(await doc.embedFont(fontFiles.regular, { subset: true, customName: subsetName('DejaVuSans', input) }));
  const bold = new Typeface(await doc.embedFont(fontFiles.bold, { subset: true, customName: subsetName('DejaVuSans-Bold', input) }));
  setMetadata(doc, input);
  onProgress?.(20);

  const logo = input.logo ? await embedLogo(doc, input.logo) : null;
  onProgress?.(35);

  const page = doc.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  drawFrame(page);
  drawCentreColumn(page, input, logo, regular, bold);
  drawDates(page, input, regular);
  onProgress?.(60);

  drawQrCode(page, input.verifyUrl, regular);
  onProgress?.(75);

  await doc.attach(credentialBytes, CREDENTIAL_ATTACHMENT, {
    mimeType: CREDENTIAL_MIME_TYPE,
    description: CREDENTIAL_DESCRIPTION,
    creationDate: input.issuedAt,
    modificationDate: input.issuedAt,
    afRelationship: AFRelationship.Data,
  });
  setDocumentId(doc, input);
  onProgress?.(85);

  const bytes = await doc.save({ useObjectStreams: true, addDefaultPage: false });
  onProgress?.(100);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Input checks: this is the last line before a broken file lands in a learner's inbox.

const MAX_LOGO_PIXELS = 16_000_000;
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function checkInput(input: CertificatePdfInput): Uint8Array {
  const required = ['certificateId', 'organizationName', 'learnerName', 'courseTitle', 'verifyUrl'] as const;
  for (const field of required) {
    if (typeof input[field] !== 'string' || input[field].trim() === '') {
      throw new CertificateInputError(`${field} is empty: a certificate needs it`);
    }
  }
  if (!isValidDate(input.issuedAt)) throw new CertificateInputError('issuedAt is not a valid date');
  if (input.validUntil !== null && !isValidDate(input.validUntil)) {
    throw new CertificateInputError('validUntil is not a valid date (use null when the certificate does not expire)');
  }
  if (input.validUntil !== null && input.validUntil.getTime() <= input.issuedAt.getTime()) {
    throw new CertificateInputError(`validUntil (${input.validUntil.toISOString()}) is not after issuedAt (${input.issuedAt.toISOString()})`);
  }
  if (input.verifyUrl.length > MAX_VERIFY_URL_LENGTH) {
    throw new CertificateInputError(
      `verifyUrl is ${input.verifyUrl.length} characters long; use at most ${MAX_VERIFY_URL_LENGTH} so the QR code stays scannable`,
    );
  }
  if (!/^https?:\/\//i.test(input.verifyUrl) || !URL.canParse(input.verifyUrl)) {
    throw new CertificateInputError(`verifyUrl is not an http(s) URL: ${JSON.stringify(input.verifyUrl.slice(0, 80))}`);
  }
  const credential = new TextEncoder().encode(input.credentialJson);
  if (credential.length > MAX_CREDENTIAL_BYTES) {
    // The verifier would refuse it (extract.ts), so the PDF would prove nothing.
    throw new CertificateInputError(
      `credentialJson is ${credential.length} bytes; the verifier accepts at most ${MAX_CREDENTIAL_BYTES}`,
    );
  }
  try {
    JSON.parse(input.credentialJson);
  } catch (error) {
    throw new CertificateInputError(`credentialJson is not valid JSON (${(error as Error).message})`);
  }
  if (input.logo) checkLogoBytes(input.logo);
  return credential;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, index) => bytes[index] === byte);
}

function checkLogoBytes(logo: NonNullable<CertificatePdfInput['logo']>): void {
  if (logo.type !== 'png' && logo.type !== 'jpeg') {
    throw new CertificateInputError(`logo type ${JSON.stringify(logo.type)} is not supported: use 'png' or 'jpeg'`);
  }
  const magic = logo.type === 'png' ? PNG_MAGIC : JPEG_MAGIC;
  if (!startsWith(logo.bytes, magic)) {
    const head = Array.from(logo.bytes.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const actual = startsWith(logo.bytes, PNG_MAGIC) ? ' (they are a PNG)' : startsWith(logo.bytes, JPEG_MAGIC) ? ' (they are a JPEG)' : '';
    throw new CertificateInputError(
      `the logo is declared as ${logo.type.toUpperCase()} but its bytes are not one${actual}; they start with [${head || 'nothing'}]`,
    );
  }
  // pdf-lib decodes PNG pixels in memory (JPEGs are copied as they are): bound the decoded size.
  if (logo.type === 'png' && logo.bytes.length >= 24) {
    const view = new DataView(logo.bytes.buffer, logo.bytes.byteOffset, logo.bytes.byteLength);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    if (width * height > MAX_LOGO_PIXELS) {
      throw new CertificateInputError(`the logo is ${width} x ${height} pixels; at most ${MAX_LOGO_PIXELS / 1e6} megapixels (it prints 8 cm wide at most)`);
    }
  }
}

async function embedLogo(doc: PDFDocument, logo: NonNullable<CertificatePdfInput['logo']>): Promise<PDFImage> {
  try {
    const image = logo.type === 'png' ? await doc.embedPng(logo.bytes) : await doc.embedJpg(logo.bytes);
    if (!(image.width > 0 && image.height > 0)) throw new Error('the image has no pixels');
    return image;
  } catch (error) {
    throw new CertificateInputError(
      `the logo could not be decoded as ${logo.type.toUpperCase()}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Fonts and text fitting.

/** A subset font's PDF name carries a six-letter tag ("ABCDEF+DejaVuSans") so viewers and
 *  tools know it is partial and never mix two different subsets up. pdf-lib would write
 *  "DejaVuSans-1234" instead; this tag is derived from the text, so it is stable too. */
function subsetName(font: string, input: CertificatePdfInput): string {
  const texts = [font, input.learnerName, input.courseTitle, input.organizationName, input.certificateId, input.verifyUrl];
  const digest = createHash('sha256').update(texts.join('\u0000')).digest();
  const tag = Array.from(digest.subarray(0, 6), (byte) => String.fromCharCode(65 + (byte % 26))).join('');
  return `${tag}+${font}`;
}

interface FontFiles {
  regular: Uint8Array;
  bold: Uint8Array;
}

/**
 * fontkit, keeping its parse of each font file: parsing DejaVu was most of a render's time
 * (~60 %), and a parsed font is only read afterwards (each document makes its own subset of it).
 */
const parsedFonts = new WeakMap<Uint8Array, ReturnType<typeof fontkit.create>>();
const parsedFontkit: typeof fontkit = {
  create(data, postscriptName) {
    let font = parsedFonts.get(data);
    if (!font) {
      font = fontkit.create(data, postscriptName);
      parsedFonts.set(data, font);
    }
    return font;
  },
};

let fontFilesLoading: Promise<FontFiles> | undefined;

/** Read once per process: ~1.4 MB that every render needs. */
function loadFontFiles(): Promise<FontFiles> {
  if (fontFilesLoading) return fontFilesLoading;
  const loading = (async () => {
    const ttf = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    const [regular, bold] = await Promise.all([
      readFile(join(ttf, 'DejaVuSans.ttf')),
      readFile(join(ttf, 'DejaVuSans-Bold.ttf')),
    ]);
    return { regular, bold };
  })();
  fontFilesLoading = loading;
  // A failed read (disk hiccup) must not poison every later render.
  loading.catch(() => {
    if (fontFilesLoading === loading) fontFilesLoading = undefined;
  });
  return loading;
}

/** A font plus what it can print; turns any string into one it can. */
class Typeface {
  readonly font: PDFFont;
  private readonly supported: Set<number>;
  readonly ascent: number;

  constructor(font: PDFFont) {
    this.font = font;
    this.supported = new Set(font.getCharacterSet());
    this.ascent = font.heightAtSize(1, { descender: false });
  }

  /** NFC, whitespace and control characters → single spaces, invisible format characters
   *  (zero-width joiners, bidi marks, soft hyphens) dropped, unknown characters → '?'. */
  printable(text: string): string {
    let out = '';
    for (const char of text.normalize('NFC')) {
      if (/\p{Cf}/u.test(char)) continue;
      if (/[\p{Cc}\p{Z}]/u.test(char)) out += ' ';
      else out += this.supported.has(char.codePointAt(0) ?? 0) ? char : '?';
    }
    return out.replace(/ {2,}/g, ' ').trim();
  }

  /** Widths at size 1 of the words and characters measured so far: fitting a long title tries
   *  many sizes and line breaks, and fontkit's layout is the slow part. */
  private readonly unitWidths = new Map<string, number>();

  private unitWidth(piece: string): number {
    let width = this.unitWidths.get(piece);
    if (width === undefined) {
      width = this.font.widthOfTextAtSize(piece, 1);
      this.unitWidths.set(piece, width);
    }
    return width;
  }

  /** Equals pdf-lib's widthOfTextAtSize: it sums glyph advances (no kerning), so a line is
   *  the sum of its words and its spaces. */
  width(text: string, size: number): number {
    const words = text.split(' ');
    let total = (words.length - 1) * this.unitWidth(' ');
    for (const word of words) if (word !== '') total += this.unitWidth(word);
    return total * size;
  }

  /** How many of `chars` fit in maxWidth (at least one, so breaking always makes progress). */
  fittingPrefix(chars: string[], size: number, maxWidth: number): number {
    let count = 0;
    let width = 0;
    while (count < chars.length && (width + this.unitWidth(chars[count]!)) * size <= maxWidth) {
      width += this.unitWidth(chars[count]!);
      count++;
    }
    // Summing characters ignores ligatures; check the real width of the piece.
    while (count > 1 && this.width(chars.slice(0, count).join(''), size) > maxWidth) count--;
    return Math.max(1, count);
  }
}

interface FitOptions {
  maxSize: number;
  minSize: number;
  maxLines: number;
  maxWidth: number;
  /** Height of the whole block; lines are `size * LEADING` apart. */
  maxHeight: number;
}

interface TextBlock {
  face: Typeface;
  lines: string[];
  size: number;
  color: Color;
}

const LEADING = 1.22;
const MAX_FITTED_CHARS = 2000;

/** The largest size at which the text fits the box (wrapped at spaces, or anywhere inside a
 *  word that is wider than the box); at the smallest size, the overflow is cut with '…'. */
function fitText(face: Typeface, rawText: string, options: FitOptions, color: Color): TextBlock {
  // Far more than the biggest box can show: a runaway input costs nothing more.
  const text = face.printable(rawText.slice(0, MAX_FITTED_CHARS));
  for (let size = options.maxSize; size >= options.minSize; size -= 0.5) {
    const lines = wrap(face, text, size, options.maxWidth);
    if (lines.length <= options.maxLines && lines.length * size * LEADING <= options.maxHeight) {
      return { face, lines, size, color };
    }
  }
  const size = options.minSize;
  const maxLines = Math.max(1, Math.min(options.maxLines, Math.floor(options.maxHeight / (size * LEADING))));
  const lines = wrap(face, text, size, options.maxWidth);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = ellipsize(face, `${kept[maxLines - 1]} ${lines[maxLines]}`, size, options.maxWidth);
    return { face, lines: kept, size, color };
  }
  return { face, lines, size, color };
}

function wrap(face: Typeface, text: string, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (face.width(candidate, size) <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    line = word;
    // A single word wider than the box (a URL, a long compound) is broken between characters.
    while (face.width(line, size) > maxWidth) {
      const chars = Array.from(line);
      if (chars.length < 2) break;
      const cut = face.fittingPrefix(chars, size, maxWidth);
      lines.push(chars.slice(0, cut).join(''));
      line = chars.slice(cut).join('');
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

function ellipsize(face: Typeface, text: string, size: number, maxWidth: number): string {
  const chars = Array.from(text);
  const kept = face.fittingPrefix(chars, size, maxWidth - face.width('…', size));
  return `${chars.slice(0, kept).join('').trimEnd()}…`;
}

function blockHeight(block: TextBlock): number {
  return block.lines.length * block.size * LEADING;
}

/** Draws the block's lines centred on x (or ending at x), the first line's top at `top`. */
function drawBlock(page: PDFPage, block: TextBlock, x: number, top: number, align: 'center' | 'left' | 'right'): void {
  const lineHeight = block.size * LEADING;
  // Centre the glyphs' ascent + descent inside each line box.
  const firstBaseline = top - (lineHeight - block.size) / 2 - block.face.ascent * block.size;
  block.lines.forEach((line, index) => {
    const width = block.face.width(line, block.size);
    const left = align === 'center' ? x - width / 2 : align === 'right' ? x - width : x;
    page.drawText(line, { x: left, y: firstBaseline - index * lineHeight, size: block.size, font: block.face.font, color: block.color });
  });
}

// ---------------------------------------------------------------------------------------------
// The page.

function setMetadata(doc: PDFDocument, input: CertificatePdfInput): void {
  doc.setTitle(`Certificate of completion: ${input.courseTitle.trim()}`);
  doc.setAuthor(input.organizationName.trim());
  doc.setSubject(`${input.learnerName.trim()} completed ${input.courseTitle.trim()} (certificate ${input.certificateId})`);
  doc.setKeywords([`certificate; Open Badges 3.0; ${input.certificateId}`]);
  doc.setCreator('Lectern');
  doc.setProducer('Lectern');
  doc.setLanguage('en');
  doc.setCreationDate(input.issuedAt);
  doc.setModificationDate(input.issuedAt);
}

/** pdf-lib writes no /ID; PDF 2.0 wants one. A hash keeps it stable across re-renders: the
 *  first half names the certificate, the second changes whenever the content does. */
function setDocumentId(doc: PDFDocument, input: CertificatePdfInput): void {
  const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 32);
  const permanent = sha(`lectern-certificate:${input.certificateId}`);
  const content = sha(
    JSON.stringify({
      ...input,
      issuedAt: input.issuedAt.toISOString(),
      validUntil: input.validUntil?.toISOString() ?? null,
      logo: input.logo ? { type: input.logo.type, sha256: sha(input.logo.bytes) } : null,
    }),
  );
  doc.context.trailerInfo.ID = doc.context.obj([PDFHexString.of(permanent), PDFHexString.of(content)]);
}

function drawFrame(page: PDFPage): void {
  page.drawRectangle({ x: 22, y: 22, width: PAGE_WIDTH - 44, height: PAGE_HEIGHT - 44, borderColor: ACCENT, borderWidth: 2 });
  page.drawRectangle({ x: 30, y: 30, width: PAGE_WIDTH - 60, height: PAGE_HEIGHT - 60, borderColor: ACCENT, borderWidth: 0.6 });
}

/** Logo, title, learner, course and organization, stacked and centred vertically in the space
 *  above the QR code. The boxes' maximum heights add up to less than that space, so the
 *  column cannot collide with the bottom row whatever the input. */
function drawCentreColumn(page: PDFPage, input: CertificatePdfInput, logo: PDFImage | null, regular: Typeface, bold: Typeface): void {
  const box = (maxSize: number, minSize: number, maxLines: number, maxHeight: number): FitOptions => ({
    maxSize, minSize, maxLines, maxHeight, maxWidth: FLOW_WIDTH,
  });
  type Item = { height: number; gapAfter: number; draw: (top: number) => void };
  const items: Item[] = [];
  const text = (block: TextBlock, gapAfter: number): void => {
    items.push({ height: blockHeight(block), gapAfter, draw: (top) => drawBlock(page, block, CENTER_X, top, 'center') });
  };

  if (logo) {
    const scale = Math.min(LOGO_BOX.width / logo.width, LOGO_BOX.height / logo.height);
    const width = logo.width * scale;
    const height = logo.height * scale;
    items.push({
      height,
      gapAfter: 16,
      draw: (top) => page.drawImage(logo, { x: CENTER_X - width / 2, y: top - height, width, height }),
    });
  }
  const title = fitText(bold, 'Certificate of completion', box(26, 26, 1, 32), ACCENT);
  items.push({
    height: blockHeight(title) + 10,
    gapAfter: 8,
    draw: (top) => {
      drawBlock(page, title, CENTER_X, top, 'center');
      const ruleY = top - blockHeight(title) - 6;
      page.drawLine({ start: { x: CENTER_X - 36, y: ruleY }, end: { x: CENTER_X + 36, y: ruleY }, thickness: 1.2, color: ACCENT });
    },
  });
  text(fitText(regular, 'This is to certify that', box(12, 12, 1, 15), MUTED), 4);
  text(fitText(bold, input.learnerName, box(36, 14, 2, 44), INK), 6);
  text(fitText(regular, 'has completed', box(12, 12, 1, 15), MUTED), 4);
  text(fitText(bold, input.courseTitle, box(22, 10, 4, 60), INK), 10);
  text(fitText(regular, `Issued by ${input.organizationName}`, box(14, 9, 2, 34), INK), 0);

  // Spare room first opens the gaps (up to twice as wide), the rest centres the column.
  const space = CONTENT_TOP - FLOW_BOTTOM;
  const heights = items.reduce((sum, item) => sum + item.height, 0);
  const gaps = items.reduce((sum, item) => sum + item.gapAfter, 0);
  const stretch = Math.max(1, Math.min(2, (space - heights) / gaps));
  const total = heights + gaps * stretch;
  let top = total >= space ? CONTENT_TOP : CONTENT_TOP - (space - total) / 2;
  for (const item of items) {
    item.draw(top);
    top -= item.height + item.gapAfter * stretch;
  }
}

/** Bottom left: issue date, expiry when set, and the certificate id. */
function drawDates(page: PDFPage, input: CertificatePdfInput, regular: Typeface): void {
  const line = (text: string, size: number, color: Color): TextBlock =>
    fitText(regular, text, { maxSize: size, minSize: 6, maxLines: 1, maxWidth: DATES_WIDTH, maxHeight: size * LEADING }, color);
  const lines = [line(`Issued on ${formatCertificateDate(input.issuedAt)}`, 11, INK)];
  if (input.validUntil) lines.push(line(`Valid until ${formatCertificateDate(input.validUntil)}`, 11, INK));
  lines.push(line(`Certificate ID: ${input.certificateId}`, 7.5, MUTED));
  let bottom = CONTENT_BOTTOM;
  for (const block of lines.reverse()) {
    drawBlock(page, block, DATES_LEFT, bottom + blockHeight(block), 'left');
    bottom += blockHeight(block) + 2;
  }
}

/** Error correction M (15 % of the symbol may be dirty or torn), a 4-module quiet zone that
 *  nothing is drawn into, and the URL printed small beneath for people without a camera. */
function drawQrCode(page: PDFPage, url: string, regular: Typeface): void {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const count = qr.modules.size;
  const moduleSize = QR_CODE_BOX.size / count;
  let path = '';
  for (let row = 0; row < count; row++) {
    let col = 0;
    while (col < count) {
      if (!qr.modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < count && qr.modules.get(row, col)) col++;
      path += `M${start} ${row}H${col}V${row + 1}H${start}Z`;
    }
  }
  page.drawSvgPath(path, { x: QR_CODE_BOX.x, y: QR_CODE_BOX.y + QR_CODE_BOX.size, scale: moduleSize, color: BLACK });

  const quietZone = 4 * moduleSize;
  const right = QR_CODE_BOX.x + QR_CODE_BOX.size;
  const top = QR_CODE_BOX.y - quietZone;
  const block = fitText(regular, url, { maxSize: 7, minSize: 5, maxLines: 3, maxWidth: URL_WIDTH, maxHeight: top - CONTENT_BOTTOM }, MUTED);
  drawBlock(page, block, right, top, 'right');
}
