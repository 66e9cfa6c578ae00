// The certificate PDF as other software sees it: poppler (pdfinfo, pdftotext, pdftoppm,
// pdfdetach) reads the page, the text, the attachment and the pixels; the QR code is read back
// from the rendered page with the test-only reader; pdf-lib checks the attachment's metadata.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFRawStream } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateInputError,
  CREDENTIAL_ATTACHMENT,
  CREDENTIAL_DESCRIPTION,
  CREDENTIAL_MIME_TYPE,
  formatCertificateDate,
  MAX_CREDENTIAL_BYTES,
  QR_CODE_BOX,
  renderCertificatePdf,
  type CertificatePdfInput,
} from './certificate-pdf.ts';
import { credentialFromPdf } from './extract.ts';
import { readQrMatrix } from './qr-reader.ts';
import { makePng, pdfText, pixel, pngSize, renderRaster, requireTools, runTool, wordBoxes, type WordBox } from './test-pdf-tools.ts';

const PAGE_HEIGHT = 595.28;
const PAGE_WIDTH = 841.89;
const FRAME_INSET = 30;

const CREDENTIAL = JSON.stringify(
  {
    '@context': ['https://www.w3.org/ns/credentials/v2', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    credentialSubject: { type: ['AchievementSubject'], name: 'Zoë Ångström' },
    proof: { type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022', proofValue: 'z5vgFc7…' },
  },
  null,
  2,
);
const RED_LOGO = makePng(240, 80, [220, 30, 40]); // 3:1, fitted into the 220 x 56 pt logo box

function sample(overrides: Partial<CertificatePdfInput> = {}): CertificatePdfInput {
  return {
    certificateId: '7d7c1c0e-3f7e-4c55-9b1a-2f0e5d6c9a11',
    organizationName: 'Northwind Academy',
    logo: { bytes: RED_LOGO, type: 'png' },
    learnerName: 'Ada Lovelace',
    courseTitle: 'Analytical Engines for Beginners',
    issuedAt: new Date('2026-11-30T10:00:00Z'),
    validUntil: new Date('2028-11-30T10:00:00Z'),
    verifyUrl: 'https://lectern.example/verify/7d7c1c0e-3f7e-4c55-9b1a-2f0e5d6c9a11',
    credentialJson: CREDENTIAL,
    ...overrides,
  };
}

const LONG_TITLE = `Advanced Topics in Distributed Systems: ${'Consensus, Replication and Fault Tolerance in Practice — '.repeat(5)}`.slice(0, 300);

let dir: string;
const file = (name: string): string => join(dir, name);
const pdfs: Record<string, string> = {};

async function renderTo(name: string, input: CertificatePdfInput): Promise<string> {
  const path = file(`${name}.pdf`);
  await writeFile(path, await renderCertificatePdf(input));
  pdfs[name] = path;
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certificate-pdf-'));
  await requireTools(['pdfinfo', 'pdftotext', 'pdftoppm', 'pdfdetach', 'pdffonts']);
  await renderTo('logo', sample());
  await renderTo('plain', sample({ logo: null, validUntil: null }));
  await renderTo('unicode', sample({ learnerName: 'Zoë Ångström', courseTitle: 'Σωκράτης και η διαλεκτική', organizationName: 'Институт Достоевский' }));
  await renderTo('long', sample({ courseTitle: LONG_TITLE }));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('renderCertificatePdf: the page', () => {
  it('is one landscape A4 page that pdftoppm renders', async () => {
    for (const name of ['logo', 'plain']) {
      const info = (await runTool('pdfinfo', [pdfs[name]!])).toString('utf8');
      expect(info).toMatch(/^Pages:\s+1$/m);
      const [, width, height] = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info) ?? [];
      expect([Math.round(Number(width)), Math.round(Number(height))]).toEqual([842, 595]);

      await runTool('pdftoppm', ['-png', '-r', '50', '-f', '1', '-l', '1', '-singlefile', pdfs[name]!, file(`${name}-50dpi`)]);
      const size = pngSize(await readFile(file(`${name}-50dpi.png`)));
      expect(Math.abs(size.width - (PAGE_WIDTH * 50) / 72)).toBeLessThanOrEqual(1);
      expect(Math.abs(size.height - (PAGE_HEIGHT * 50) / 72)).toBeLessThanOrEqual(1);
    }
  });

  it('prints the learner, course, organization, dates, certificate id and verify URL', async () => {
    const text = await pdfText(pdfs.logo!);
    const input = sample();
    for (const expected of [
      'Certificate of completion', input.learnerName, input.courseTitle, input.organizationName,
      'Issued on 30 November 2026', 'Valid until 30 November 2028', input.certificateId, input.verifyUrl,
    ]) {
      expect(text).toContain(expected);
    }
    const plain = await pdfText(pdfs.plain!);
    expect(plain).toContain('Issued on 30 November 2026');
    expect(plain).not.toContain('Valid until');
  });

  it('writes dates in English, in UTC, whatever the time of day', () => {
    expect(formatCertificateDate(new Date('2026-11-30T23:59:59Z'))).toBe('30 November 2026');
    expect(formatCertificateDate(new Date('2027-01-01T00:00:00+02:00'))).toBe('31 December 2026');
    expect(formatCertificateDate(new Date('2026-03-05T12:00:00Z'))).toBe('5 March 2026');
  });

  it('fits the logo into its box with its aspect ratio, and leaves no gap without one', async () => {
    // At 72 dpi one pixel is one point. 240 x 80 px into 220 x 56 pt: height-bound, 168 x 56.
    const raster = await renderRaster(pdfs.logo!, file('logo-72'), 72, 'rgb');
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let y = 0; y < raster.height; y++) {
      for (let x = 0; x < raster.width; x++) {
        const [r = 0, g = 0, b = 0] = pixel(raster, x, y);
        if (r > 180 && g < 90 && b < 90) [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
      }
    }
    expect(Math.abs(right - left + 1 - 168)).toBeLessThanOrEqual(2);
    expect(Math.abs(bottom - top + 1 - 56)).toBeLessThanOrEqual(2);
    expect(Math.abs((left + right + 1) / 2 - PAGE_WIDTH / 2)).toBeLessThanOrEqual(2);
    expect(top).toBeGreaterThan(FRAME_INSET);

    const titleTop = (words: WordBox[]): number => words.find((word) => word.text === 'Certificate')?.yMin ?? NaN;
    const withLogo = titleTop(await wordBoxes(pdfs.logo!));
    const withoutLogo = titleTop(await wordBoxes(pdfs.plain!));
    expect(withLogo).toBeGreaterThan(withoutLogo + 20); // the column closes up instead of keeping an empty logo box
  });

  it('prints Latin, Greek and Cyrillic names with the embedded font', async () => {
    const text = await pdfText(pdfs.unicode!);
    expect(text).toContain('Zoë Ångström');
    expect(text).toContain('Σωκράτης και η διαλεκτική');
    expect(text).toContain('Институт Достоевский');
    const fonts = (await runTool('pdffonts', [pdfs.unicode!])).toString('utf8');
    // Both faces embedded, as subsets (the ABCDEF+ tag), with a Unicode map (copy and paste).
    expect(fonts).toMatch(/^[A-Z]{6}\+DejaVuSans\s+CID TrueType\s+Identity-H\s+yes yes yes/m);
    expect(fonts).toMatch(/^[A-Z]{6}\+DejaVuSans-Bold\s+CID TrueType\s+Identity-H\s+yes yes yes/m);
  });

  it('replaces characters the font lacks (CJK) and tidies invisible ones, without failing', async () => {
    const path = await renderTo('cjk', sample({
      learnerName: '王小明\u200d 김',
      courseTitle: 'Zoe\u0308 and\nthe\tcontrol\u0007characters',
    }));
    const text = await pdfText(path);
    expect(text).toContain('??? ?'); // Chinese and Korean are not in DejaVu; the zero-width joiner is dropped
    expect(text).toContain('Zoë and the control characters'); // NFC, line breaks and controls as spaces
  });

  it('keeps a 300-character course title on the page, clear of the QR code', async () => {
    const text = (await pdfText(pdfs.long!)).replace(/\s+/g, ' ');
    expect(LONG_TITLE).toHaveLength(300);
    expect(text).toContain(LONG_TITLE.trim()); // all of it: wrapped over 4 lines, smaller
    expectLaidOutCleanly(await wordBoxes(pdfs.long!));
  });

  it('never overflows, however long every text is', async () => {
    const path = await renderTo('extreme', sample({
      learnerName: 'Maximilian '.repeat(30),
      courseTitle: 'Supercalifragilisticexpialidocious '.repeat(60),
      organizationName: 'The Very Long Name of an Organization '.repeat(12),
      certificateId: 'id-'.repeat(100),
      verifyUrl: `https://lectern.example/verify/${'x'.repeat(256 - 31)}`,
    }));
    const words = await wordBoxes(path);
    expect(words.length).toBeGreaterThan(20);
    expectLaidOutCleanly(words);
  });

  it('rejects an input that cannot make a certificate, saying what is wrong', async () => {
    const cases: [Partial<CertificatePdfInput>, RegExp][] = [
      [{ learnerName: '  ' }, /learnerName is empty/],
      [{ issuedAt: new Date('not a date') }, /issuedAt is not a valid date/],
      [{ validUntil: new Date(Number.NaN) }, /validUntil is not a valid date/],
      [{ validUntil: new Date('2026-11-29T10:00:00Z') }, /validUntil \(2026-11-29T10:00:00.000Z\) is not after issuedAt/],
      [{ verifyUrl: 'javascript:alert(1)' }, /verifyUrl is not an http\(s\) URL/],
      [{ verifyUrl: `https://lectern.example/${'v'.repeat(300)}` }, /at most 256/],
      [{ credentialJson: '{"unterminated": ' }, /credentialJson is not valid JSON/],
      [{ credentialJson: JSON.stringify('x'.repeat(MAX_CREDENTIAL_BYTES)) }, /the verifier accepts at most 1048576/],
    ];
    for (const [override, message] of cases) {
      await expect(renderCertificatePdf(sample(override))).rejects.toThrow(message);
    }
  });

  it('rejects a logo whose bytes do not match its declared type, or do not decode', async () => {
    const jpegHeader = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
    const cases: [CertificatePdfInput['logo'], RegExp][] = [
      [{ bytes: RED_LOGO, type: 'jpeg' }, /declared as JPEG but its bytes are not one \(they are a PNG\); they start with \[89 50 4e 47/],
      [{ bytes: jpegHeader, type: 'png' }, /declared as PNG but its bytes are not one \(they are a JPEG\)/],
      [{ bytes: new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'), type: 'png' }, /declared as PNG/],
      [{ bytes: new Uint8Array(0), type: 'png' }, /they start with \[nothing\]/],
      [{ bytes: RED_LOGO.subarray(0, 40), type: 'png' }, /the logo could not be decoded as PNG/],
      [{ bytes: jpegHeader, type: 'jpeg' }, /the logo could not be decoded as JPEG/],
      [{ bytes: pngClaiming(20_000, 20_000), type: 'png' }, /the logo is 20000 x 20000 pixels; at most 16 megapixels/],
    ];
    for (const [logo, message] of cases) {
      const attempt = renderCertificatePdf(sample({ logo }));
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toBeInstanceOf(CertificateInputError);
    }
  });

  it('reports progress in increasing steps ending with 100', async () => {
    const seen: number[] = [];
    await renderCertificatePdf(sample(), (percent) => seen.push(percent));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe(100);
    expect(seen.every((percent, index) => index === 0 || percent > seen[index - 1]!)).toBe(true);
  });
});

/** A real small PNG whose header claims other dimensions (a decompression bomb's calling card). */
function pngClaiming(width: number, height: number): Uint8Array {
  const png = makePng(2, 2, [0, 0, 0]).slice();
  const view = new DataView(png.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return png;
}

function expectLaidOutCleanly(words: WordBox[]): void {
  // No two words overlap (0.5 pt of slack for glyph boxes that touch).
  for (const [index, a] of words.entries()) {
    for (const b of words.slice(index + 1)) {
      const overlap = a.xMax - 0.5 > b.xMin && b.xMax - 0.5 > a.xMin && a.yMax - 0.5 > b.yMin && b.yMax - 0.5 > a.yMin;
      expect(overlap, `"${a.text}" overlaps "${b.text}"`).toBe(false);
    }
  }
  const qrTop = PAGE_HEIGHT - QR_CODE_BOX.y - QR_CODE_BOX.size;
  for (const word of words) {
    expect(word.xMin, word.text).toBeGreaterThanOrEqual(FRAME_INSET);
    expect(word.xMax, word.text).toBeLessThanOrEqual(PAGE_WIDTH - FRAME_INSET);
    expect(word.yMin, word.text).toBeGreaterThanOrEqual(FRAME_INSET);
    expect(word.yMax, word.text).toBeLessThanOrEqual(PAGE_HEIGHT - FRAME_INSET);
    const overlapsQr =
      word.xMax > QR_CODE_BOX.x - 4 && word.xMin < QR_CODE_BOX.x + QR_CODE_BOX.size + 4 &&
      word.yMax > qrTop - 4 && word.yMin < qrTop + QR_CODE_BOX.size + 4;
    expect(overlapsQr, `"${word.text}" overlaps the QR code`).toBe(false);
  }
}

describe('renderCertificatePdf: the QR code', () => {
  it('reads back as the verify URL, level M, at least 3 cm, with a clear quiet zone', async () => {
    const dpi = 144;
    const scale = dpi / 72;
    const raster = await renderRaster(pdfs.logo!, file('qr'), dpi, 'gray');
    const dark = (x: number, y: number): boolean => (pixel(raster, x, y)[0] ?? 255) < 128;
    const left = QR_CODE_BOX.x * scale;
    const top = (PAGE_HEIGHT - QR_CODE_BOX.y - QR_CODE_BOX.size) * scale;
    const size = QR_CODE_BOX.size * scale;

    // Where the ink actually is (the printed size), found from the pixels.
    let [inkLeft, inkTop, inkRight, inkBottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let y = Math.floor(top - 40); y < top + size + 10; y++) {
      for (let x = Math.floor(left - 40); x < left + size + 40; x++) {
        if (dark(x, y)) [inkLeft, inkTop, inkRight, inkBottom] = [Math.min(inkLeft, x), Math.min(inkTop, y), Math.max(inkRight, x), Math.max(inkBottom, y)];
      }
    }
    expect(Math.abs(inkLeft - left)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(inkTop - top)).toBeLessThanOrEqual(1.5);
    const widthCm = ((inkRight - inkLeft + 1) / dpi) * 2.54;
    expect(widthCm).toBeGreaterThanOrEqual(3);

    // The module count from the top-left finder (7 modules wide), then sample every module centre.
    let finder = 0;
    while (dark(left + 0.5 + finder, top + 1.5)) finder++;
    const count = Math.round(size / (finder / 7));
    const modulePx = size / count;
    const grid = Array.from({ length: count }, (_, row) =>
      Array.from({ length: count }, (_, col) => dark(left + (col + 0.5) * modulePx, top + (row + 0.5) * modulePx)),
    );
    expect(readQrMatrix(grid)).toMatchObject({ text: sample().verifyUrl, errorCorrection: 'M' });

    // Quiet zone: 4 modules of white all round (1 px of slack for anti-aliasing at the edge).
    const quiet = 4 * modulePx;
    for (let y = Math.ceil(top - quiet); y < top + size + quiet - 1; y++) {
      for (let x = Math.ceil(left - quiet); x < left + size + quiet - 1; x++) {
        const inside = x >= left - 1 && x <= left + size + 1 && y >= top - 1 && y <= top + size + 1;
        if (!inside) expect(dark(x, y), `dark pixel in the quiet zone at ${x},${y}`).toBe(false);
      }
    }
  });
});

describe('renderCertificatePdf: the attached credential', () => {
  it('is listed by pdfdetach and saved back byte for byte', async () => {
    const list = (await runTool('pdfdetach', ['-list', pdfs.logo!])).toString('utf8');
    expect(list).toMatch(/^1 embedded files?\n1: credential\.json$/m);
    await runTool('pdfdetach', ['-save', '1', '-o', file('saved.json'), pdfs.logo!]);
    expect((await readFile(file('saved.json'))).equals(Buffer.from(CREDENTIAL, 'utf8'))).toBe(true);
  });

  it('reads back with credentialFromPdf as the exact text', async () => {
    expect(await credentialFromPdf(await readFile(pdfs.logo!))).toBe(CREDENTIAL);
    expect(await credentialFromPdf(await readFile(pdfs.unicode!))).toBe(CREDENTIAL);
  });

  it('round-trips a credential of exactly the maximum size the verifier accepts', async () => {
    const largest = JSON.stringify('é'.repeat((MAX_CREDENTIAL_BYTES - 2) / 2)); // 2-byte UTF-8 characters
    expect(new TextEncoder().encode(largest).length).toBe(MAX_CREDENTIAL_BYTES);
    const bytes = await renderCertificatePdf(sample({ credentialJson: largest }));
    expect(await credentialFromPdf(bytes)).toBe(largest);
  });

  it('carries its name, description, MIME type and AFRelationship /Data', async () => {
    const doc = await PDFDocument.load(await readFile(pdfs.logo!), { updateMetadata: false });
    const tree = doc.catalog.lookup(PDFName.of('Names'), PDFDict).lookup(PDFName.of('EmbeddedFiles'), PDFDict);
    const pairs = tree.lookup(PDFName.of('Names'), PDFArray);
    expect(pairs.lookup(0, PDFHexString).decodeText()).toBe(CREDENTIAL_ATTACHMENT);
    const spec = pairs.lookup(1, PDFDict);
    expect(spec.lookup(PDFName.of('AFRelationship'))).toBe(PDFName.of('Data'));
    expect(spec.lookup(PDFName.of('Desc'), PDFHexString).decodeText()).toBe(CREDENTIAL_DESCRIPTION);
    const stream = spec.lookup(PDFName.of('EF'), PDFDict).lookup(PDFName.of('F'));
    expect(stream).toBeInstanceOf(PDFRawStream);
    expect((stream as PDFRawStream).dict.lookup(PDFName.of('Subtype'))).toBe(PDFName.of(CREDENTIAL_MIME_TYPE));
    expect(doc.catalog.lookup(PDFName.of('AF'), PDFArray).get(0)).toBe(pairs.get(1)); // associated with the document
  });
});

describe('renderCertificatePdf: determinism', () => {
  it('gives the same bytes for the same input, even interleaved with other renders', async () => {
    const first = await renderCertificatePdf(sample());
    await renderCertificatePdf(sample({ learnerName: 'Someone Else', logo: null }));
    const [second, third] = await Promise.all([renderCertificatePdf(sample()), renderCertificatePdf(sample())]);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(third).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(await readFile(pdfs.logo!)).equals(Buffer.from(first))).toBe(true);
  });

  it('stamps issuedAt, the organization and Lectern into the metadata, and a stable /ID', async () => {
    const info = (await runTool('pdfinfo', ['-isodates', pdfs.logo!])).toString('utf8');
    expect(info).toMatch(/^Title:\s+Certificate of completion: Analytical Engines for Beginners$/m);
    expect(info).toMatch(/^Author:\s+Northwind Academy$/m);
    expect(info).toMatch(/^Producer:\s+Lectern$/m);
    expect(info).toMatch(/^CreationDate:\s+2026-11-30T10:00:00Z$/m);
    expect(info).toMatch(/^ModDate:\s+2026-11-30T10:00:00Z$/m);

    const trailerId = (bytes: Uint8Array): string[] =>
      (/\/ID\s*\[\s*<([0-9A-Fa-f]{32})>\s*<([0-9A-Fa-f]{32})>\s*\]/.exec(Buffer.from(bytes).toString('latin1')) ?? []).slice(1);
    const original = trailerId(await readFile(pdfs.logo!));
    const corrected = trailerId(await renderCertificatePdf(sample({ learnerName: 'Ada King, Countess of Lovelace' })));
    expect(original).toHaveLength(2);
    expect(corrected[0]).toBe(original[0]); // same certificate
    expect(corrected[1]).not.toBe(original[1]); // different content
  });
});
