// credentialFromPdf on what the public verifier will really be sent: our certificates, other
// PDFs, and hostile or broken files (truncated, HTML, huge, decompression bombs, cyclic name
// trees, encrypted, mutated at random). Every outcome must be the text, null, or a PdfReadError
// with a message for people, and quickly.
import { deflateSync } from 'node:zlib';
import { AFRelationship, PDFArray, PDFDict, PDFDocument, PDFName, PDFRef, PDFString } from 'pdf-lib';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { renderCertificatePdf, type CertificatePdfInput } from './certificate-pdf.ts';
import { credentialFromPdf, DECOMPRESSION_BUDGET, MAX_CREDENTIAL_BYTES, PdfReadError } from './extract.ts';

const CREDENTIAL = JSON.stringify({ type: ['VerifiableCredential', 'OpenBadgeCredential'], name: 'Zoë', proof: { proofValue: 'z58…' } });

const input: CertificatePdfInput = {
  certificateId: 'c0ffee00-0000-4000-8000-000000000001',
  organizationName: 'Northwind Academy',
  logo: null,
  learnerName: 'Ada Lovelace',
  courseTitle: 'Analytical Engines',
  issuedAt: new Date('2026-11-30T10:00:00Z'),
  validUntil: null,
  verifyUrl: 'https://lectern.example/verify/c0ffee00-0000-4000-8000-000000000001',
  credentialJson: CREDENTIAL,
};

let certificate: Uint8Array;

beforeAll(async () => {
  certificate = await renderCertificatePdf(input);
});

/** A small PDF made with pdf-lib, optionally tampered with before saving. */
async function makePdf(tamper?: (doc: PDFDocument) => void | Promise<void>, useObjectStreams = true): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.addPage([200, 200]);
  await tamper?.(doc);
  return doc.save({ useObjectStreams });
}

async function readError(bytes: Uint8Array, maxBytes?: number): Promise<PdfReadError> {
  try {
    await credentialFromPdf(bytes, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(PdfReadError);
    return error as PdfReadError;
  }
  throw new Error('expected a PdfReadError, got a result');
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The reference of the (first) attachment's embedded file stream, once the doc is flushed. */
function embeddedFileRef(doc: PDFDocument): PDFRef {
  const tree = doc.catalog.lookup(PDFName.of('Names'), PDFDict).lookup(PDFName.of('EmbeddedFiles'), PDFDict);
  const spec = tree.lookup(PDFName.of('Names'), PDFArray).lookup(1, PDFDict);
  const ref = spec.lookup(PDFName.of('EF'), PDFDict).get(PDFName.of('F'));
  if (!(ref instanceof PDFRef)) throw new Error('the embedded file is not an indirect stream');
  return ref;
}

describe('credentialFromPdf: readable PDFs', () => {
  it('returns the embedded credential of a certificate, verbatim', async () => {
    expect(await credentialFromPdf(certificate)).toBe(CREDENTIAL);
  });

  it('returns null for a PDF without attachments, or without credential.json', async () => {
    expect(await credentialFromPdf(await makePdf())).toBeNull();
    const other = await makePdf((doc) => doc.attach(ascii('{}'), 'notes.json', { mimeType: 'application/json' }));
    expect(await credentialFromPdf(other)).toBeNull();
  });

  it('finds credential.json among other attachments and without object streams', async () => {
    const bytes = await makePdf(async (doc) => {
      await doc.attach(ascii('first'), 'readme.txt');
      await doc.attach(ascii(CREDENTIAL), 'credential.json', { afRelationship: AFRelationship.Data });
    }, false);
    expect(await credentialFromPdf(bytes)).toBe(CREDENTIAL);
  });

  it('walks /Kids of the name tree, and matches a renamed key by the file spec name', async () => {
    const bytes = await makePdf(async (doc) => {
      await doc.attach(ascii(CREDENTIAL), 'credential.json');
      await doc.flush(); // writes the name tree, so it can be rearranged below
      const names = doc.catalog.lookup(PDFName.of('Names'), PDFDict);
      const fileSpec = names.lookup(PDFName.of('EmbeddedFiles'), PDFDict).lookup(PDFName.of('Names'), PDFArray).get(1);
      // root → intermediate node → leaf, the leaf keyed "0001" (as some PDF tools rewrite keys).
      const leaf = doc.context.obj({ Names: [PDFString.of('0001'), fileSpec], Limits: [PDFString.of('0001'), PDFString.of('0001')] });
      const middle = doc.context.obj({ Kids: [doc.context.register(leaf)] });
      names.set(PDFName.of('EmbeddedFiles'), doc.context.register(doc.context.obj({ Kids: [doc.context.register(middle)] })));
    });
    expect(await credentialFromPdf(bytes)).toBe(CREDENTIAL);
  });

  it('returns null, without looping, when /Kids point back up the tree', async () => {
    const bytes = await makePdf((doc) => {
      const rootRef = doc.context.nextRef();
      const childRef = doc.context.register(doc.context.obj({ Kids: [rootRef] }));
      doc.context.assign(rootRef, doc.context.obj({ Kids: [childRef, rootRef] }));
      doc.catalog.set(PDFName.of('Names'), doc.context.obj({ EmbeddedFiles: rootRef }));
    });
    expect(await credentialFromPdf(bytes)).toBeNull();
  });

  it('refuses a name tree nested deeper than any real one', async () => {
    const bytes = await makePdf((doc) => {
      let node = doc.context.register(doc.context.obj({ Names: [] }));
      for (let depth = 0; depth < 40; depth++) node = doc.context.register(doc.context.obj({ Kids: [node] }));
      doc.catalog.set(PDFName.of('Names'), doc.context.obj({ EmbeddedFiles: node }));
    });
    expect((await readError(bytes)).message).toMatch(/list of attachments is malformed/);
  });
});

describe('credentialFromPdf: files that are not readable PDFs', () => {
  it('rejects random bytes, HTML, an empty file and a truncated PDF with a message for people', async () => {
    let seed = 7;
    const random = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff);
    expect((await readError(random)).message).toBe('This is not a PDF file (a PDF starts with "%PDF-").');
    const html = ascii('<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n');
    expect((await readError(html)).message).toMatch(/not a PDF but a web page \(HTML\)/);
    expect((await readError(new Uint8Array(0))).message).toBe('The file is empty.');
    for (const cut of [0.25, 0.5, 0.9, 0.99]) {
      const truncated = certificate.subarray(0, Math.floor(certificate.length * cut));
      expect((await readError(truncated)).message).toMatch(/incomplete.*cut short/);
    }
  });

  it('rejects a file over the size cap before parsing it (default 5 MiB, or the maxBytes given)', async () => {
    const big = new Uint8Array(6 * 1024 * 1024);
    big.set(certificate); // a real PDF at the start does not help
    expect((await readError(big)).message).toBe('The file is 6 MiB; a certificate PDF is at most 5 MiB.');
    expect((await readError(certificate, 10 * 1024)).message).toMatch(/^The file is \d+ KiB; a certificate PDF is at most 10 KiB\.$/);
    expect(await credentialFromPdf(certificate, certificate.length)).toBe(CREDENTIAL);
  });

  it('rejects a PDF whose credential.json expands beyond 1 MiB (2 MiB compressed or raw)', async () => {
    const twoMiB = new Uint8Array(2 * 1024 * 1024).fill(0x20);
    const compressed = await makePdf((doc) => doc.attach(twoMiB, 'credential.json'));
    expect(compressed.length).toBeLessThan(64 * 1024); // the bomb is small; the cap is on the output
    expect((await readError(compressed)).message).toBe('The embedded credential is larger than 1 MiB; a real one is a few KB.');

    const raw = await makePdf(async (doc) => {
      await doc.attach(twoMiB, 'credential.json');
      await doc.flush();
      // Replace the flate stream by an unfiltered one, as another writer might.
      doc.context.assign(embeddedFileRef(doc), doc.context.stream(twoMiB, { Type: 'EmbeddedFile' }));
    });
    expect((await readError(raw)).message).toMatch(/larger than 1 MiB/);
    expect(MAX_CREDENTIAL_BYTES).toBe(1024 * 1024);
  });

  it('rejects an object-stream decompression bomb before pdf-lib inflates it', async () => {
    // 40 MiB of spaces in an /ObjStm: pdf-lib would inflate it in full while loading.
    const inflated = Buffer.alloc(DECOMPRESSION_BUDGET + 8 * 1024 * 1024, 0x20);
    const bomb = deflateSync(inflated, { level: 9 });
    const head = `%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${bomb.length} >>\nstream\n`;
    const tail = '\nendstream\nendobj\n2 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 2 0 R >>\n%%EOF\n';
    const file = Buffer.concat([Buffer.from(head, 'latin1'), bomb, Buffer.from(tail, 'latin1')]);
    const started = performance.now();
    expect((await readError(file)).message).toMatch(/compressed data that expands beyond 32 MiB/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops pdf-lib on a file crafted to keep its parser busy, and keeps serving the others', async () => {
    // pdf-lib's recovery scan is quadratic here: about 10 s of parsing for 60 KB.
    const hostile = ascii(`%PDF-1.7\n${'a'.repeat(10)}${'1 %'.repeat(20_000)}\n%%EOF\n`);
    const started = performance.now();
    const [slow, queued] = await Promise.allSettled([
      credentialFromPdf(hostile, undefined, { timeoutMs: 500 }),
      credentialFromPdf(certificate), // waits its turn, then gets a fresh reader thread
    ]);
    expect(slow.status === 'rejected' && (slow.reason as Error).message).toBe('The PDF is too complex to read; it is not a Lectern certificate.');
    expect(slow.status === 'rejected' && slow.reason).toBeInstanceOf(PdfReadError);
    expect(queued).toEqual({ status: 'fulfilled', value: CREDENTIAL });
    expect(performance.now() - started).toBeLessThan(8_000);
  });

  it('refuses a file stuffed with oversized numbers (each would be a pdf-lib console warning)', async () => {
    const numbers = Array.from({ length: 1000 }, (_, index) => `${index + 1} 0 obj\n${'9'.repeat(20)}\nendobj\n`).join('');
    const file = ascii(`%PDF-1.7\n${numbers}trailer\n<< >>\n%%EOF\n`);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect((await readError(file)).message).toBe('The PDF is damaged and cannot be read.');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('rejects an encrypted PDF', async () => {
    const bytes = await makePdf((doc) => {
      doc.context.trailerInfo.Encrypt = doc.context.register(doc.context.obj({ Filter: 'Standard', V: 2, R: 3 }));
    });
    expect((await readError(bytes)).message).toMatch(/encrypted/);
  });

  it('rejects a credential that is not UTF-8, or a damaged credential stream', async () => {
    const latin1 = await makePdf((doc) => doc.attach(Uint8Array.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]), 'credential.json'));
    expect((await readError(latin1)).message).toBe('The embedded credential is not UTF-8 text.');
    const damaged = await makePdf(async (doc) => {
      await doc.attach(ascii(CREDENTIAL), 'credential.json');
      await doc.flush();
      doc.context.assign(embeddedFileRef(doc), doc.context.stream(ascii('not zlib at all'), { Type: 'EmbeddedFile', Filter: 'FlateDecode' }));
    });
    expect((await readError(damaged)).message).toMatch(/credential is damaged/);
  });

  it('survives 300 randomly damaged certificates: text, null or PdfReadError, fast', async () => {
    let seed = 20261130;
    const next = (limit: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % limit;
    };
    const started = performance.now();
    const outcomes = { text: 0, null: 0, error: 0 };
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.from(certificate);
      const mutations = 1 + next(8);
      for (let m = 0; m < mutations; m++) {
        const at = 5 + next(bytes.length - 20); // keep "%PDF-"
        switch (next(3)) {
          case 0: bytes[at] = next(256); break;
          case 1: bytes.fill(0x20, at, Math.min(bytes.length - 8, at + next(64))); break;
          default: bytes.copyWithin(at, next(bytes.length - 64), bytes.length - 8); break;
        }
      }
      try {
        const result = await credentialFromPdf(bytes);
        outcomes[result === null ? 'null' : 'text']++;
      } catch (error) {
        expect(error).toBeInstanceOf(PdfReadError);
        expect((error as Error).message).toMatch(/^[A-Z].*\.$/); // a sentence, not a stack
        outcomes.error++;
      }
    }
    expect(outcomes.text + outcomes.null + outcomes.error).toBe(300);
    expect(outcomes.error).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});

describe('PdfReadError', () => {
  it('is an Error named PdfReadError that keeps the cause', async () => {
    const error = await readError(ascii('%PDF-1.7\n1 0 obj\n<< /Type /Catalog\nendobj\n%%EOF\n'));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PdfReadError');
    expect(error.message).toBe('The PDF is damaged and cannot be read.');
    expect(error.cause).toBeInstanceOf(Error);
  });
});
