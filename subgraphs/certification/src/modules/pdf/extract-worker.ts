// Runs in a worker thread (started by extract.ts): loads an untrusted PDF with pdf-lib, finds
// the credential.json attachment and decodes it. pdf-lib was not written for hostile input: on
// crafted files its parser can spin for minutes (its recovery code rescans to the end of a long
// line at every byte), so extract.ts runs this where it can be stopped, under a deadline and a
// heap limit. Replies are plain data; the messages are for the person who uploaded the file.
import { parentPort } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { EncryptedPDFError, PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFNumber, PDFRawStream, PDFString } from 'pdf-lib';
import { CREDENTIAL_ATTACHMENT, DECOMPRESSION_BUDGET, MAX_CREDENTIAL_BYTES } from './attachment.ts';

export type ReaderReply =
  | { kind: 'text'; text: string }
  | { kind: 'none' }
  | { kind: 'error'; message: string; detail: string };

const MAX_HUGE_NUMBERS = 16;
const MAX_NAME_TREE_DEPTH = 32;
const MAX_NAME_TREE_NODES = 10_000;

/** A failure whose message can be shown to the uploader as is. */
class Unreadable extends Error {}

const detail = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

async function readCredential(bytes: Uint8Array): Promise<ReaderReply> {
  try {
    precheck(bytes);
  } catch (error) {
    if (error instanceof Unreadable) return { kind: 'error', message: error.message, detail: detail(error) };
    throw error;
  }
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(bytes, {
      ignoreEncryption: false,
      updateMetadata: false,
      // Fail instead of "recovering" (and console.warn-ing) objects in a file we did not write.
      throwOnInvalidObject: true,
    });
  } catch (error) {
    // pdf-lib is compiled to ES5, where `instanceof` on Error subclasses fails: match the message too.
    if (error instanceof EncryptedPDFError || /\bis encrypted\b/.test(detail(error))) {
      return { kind: 'error', message: 'The PDF is encrypted. Certificates are never encrypted, so this file was changed after it was issued.', detail: detail(error) };
    }
    return { kind: 'error', message: 'The PDF is damaged and cannot be read.', detail: detail(error) };
  }
  try {
    const stream = findAttachment(doc, CREDENTIAL_ATTACHMENT);
    return stream ? { kind: 'text', text: decodeCredential(stream) } : { kind: 'none' };
  } catch (error) {
    const message = error instanceof Unreadable ? error.message : 'The PDF is damaged: its attachments cannot be read.';
    return { kind: 'error', message, detail: detail(error instanceof Unreadable && error.cause ? error.cause : error) };
  }
}

const port = parentPort;
if (port) {
  port.on('message', (bytes: Uint8Array) => {
    void readCredential(bytes)
      .catch((error: unknown): ReaderReply => ({ kind: 'error', message: 'The PDF is damaged and cannot be read.', detail: detail(error) }))
      .then((reply) => port.postMessage(reply));
  });
  port.postMessage('ready'); // pdf-lib is loaded: the caller's deadlines can start
}

/**
 * Before pdf-lib sees the file. pdf-lib inflates every /ObjStm and /XRef stream while parsing,
 * without a limit, into buffers the thread's heap limit does not cover: find those streams in
 * the raw bytes (the dictionary between the last `obj` and `stream`) and inflate each under what
 * is left of the budget. Heuristic on purpose: it only has to catch what pdf-lib would decode,
 * and an odd stream it misreads is still parsed by pdf-lib (under the deadline).
 */
function precheck(bytes: Uint8Array): void {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  // pdf-lib console.warns once per number beyond 2^53: a file made of them would flood the logs.
  // Real PDFs have none (and compressed data almost never holds 16 digits in a row).
  if ((text.match(/\d{16,}/g)?.length ?? 0) > MAX_HUGE_NUMBERS) throw new Unreadable('The PDF is damaged and cannot be read.');
  let budget = DECOMPRESSION_BUDGET;
  let from = 0;
  for (;;) {
    const keyword = text.indexOf('stream', from);
    if (keyword < 0) return;
    from = keyword + 6;
    if (text.startsWith('end', keyword - 3)) continue; // "endstream"
    const header = text.slice(Math.max(0, keyword - 4096), keyword);
    const dict = header.slice(header.lastIndexOf('obj') + 1);
    if (!/\/Type\s*\/(?:ObjStm|XRef)\b/.test(dict)) continue;
    if (/\/(?:LZWDecode|LZW|ASCII85Decode|A85|ASCIIHexDecode|AHx|RunLengthDecode|RL)\b/.test(dict)) {
      throw new Unreadable('The PDF uses a compression this reader does not accept; it is not a Lectern certificate.');
    }
    if (!/\/FlateDecode\b/.test(dict)) continue;
    let start = keyword + 6;
    if (text[start] === '\r') start++;
    if (text[start] === '\n') start++;
    const end = text.indexOf('endstream', start);
    const data = bytes.subarray(start, end < 0 ? bytes.length : end);
    try {
      budget -= inflateSync(data, { maxOutputLength: Math.max(1, budget) }).length;
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new Unreadable(`The PDF contains compressed data that expands beyond ${DECOMPRESSION_BUDGET / (1024 * 1024)} MiB; it is not a Lectern certificate.`);
      }
      // Corrupt data: pdf-lib will fail on it the same way.
    }
  }
}

function nameText(value: unknown): string | undefined {
  return value instanceof PDFString || value instanceof PDFHexString ? value.decodeText() : undefined;
}

/** Walks the catalog's /Names /EmbeddedFiles name tree (leaves' /Names pairs, then /Kids) for
 *  a file spec whose key or file name is `fileName`; returns its embedded file stream. */
function findAttachment(doc: PDFDocument, fileName: string): PDFRawStream | null {
  const names = doc.catalog.lookup(PDFName.of('Names'));
  if (!(names instanceof PDFDict)) return null;
  const root = names.lookup(PDFName.of('EmbeddedFiles'));
  if (!(root instanceof PDFDict)) return null;

  const seen = new Set<PDFDict>();
  const visit = (node: PDFDict, depth: number): PDFDict | null => {
    if (seen.has(node)) return null; // a cycle, or a node shared twice: already searched
    seen.add(node);
    if (depth > MAX_NAME_TREE_DEPTH || seen.size > MAX_NAME_TREE_NODES) {
      throw new Unreadable('The PDF is damaged: its list of attachments is malformed.');
    }
    const pairs = node.lookup(PDFName.of('Names'));
    if (pairs instanceof PDFArray) {
      for (let index = 0; index + 1 < pairs.size(); index += 2) {
        const spec = pairs.lookup(index + 1);
        if (!(spec instanceof PDFDict)) continue;
        const key = nameText(pairs.lookup(index));
        // Tools that rewrite PDFs may renumber the keys but keep the file spec's names.
        if (key === fileName || nameText(spec.lookup(PDFName.of('UF'))) === fileName || nameText(spec.lookup(PDFName.of('F'))) === fileName) {
          return spec;
        }
      }
    }
    const kids = node.lookup(PDFName.of('Kids'));
    if (kids instanceof PDFArray) {
      for (let index = 0; index < kids.size(); index++) {
        const kid = kids.lookup(index);
        const found = kid instanceof PDFDict ? visit(kid, depth + 1) : null;
        if (found) return found;
      }
    }
    return null;
  };

  const spec = visit(root, 0);
  if (!spec) return null;
  const embedded = spec.lookup(PDFName.of('EF'));
  const stream = embedded instanceof PDFDict ? (embedded.lookup(PDFName.of('UF')) ?? embedded.lookup(PDFName.of('F'))) : undefined;
  if (!(stream instanceof PDFRawStream)) {
    throw new Unreadable(`The PDF is damaged: it names a ${fileName} attachment but does not contain it.`);
  }
  return stream;
}

/** No filter or FlateDecode (what pdf-lib writes), inflated under MAX_CREDENTIAL_BYTES;
 *  the result must be UTF-8 and is returned verbatim (a BOM is kept). */
function decodeCredential(stream: PDFRawStream): string {
  const tooBig = new Unreadable(`The embedded credential is larger than ${MAX_CREDENTIAL_BYTES / (1024 * 1024)} MiB; a real one is a few KB.`);
  const filter = stream.dict.lookup(PDFName.of('Filter'));
  const filters = filter instanceof PDFArray ? Array.from({ length: filter.size() }, (_, index) => filter.lookup(index)) : filter ? [filter] : [];
  let data: Uint8Array;
  if (filters.length === 0) {
    data = stream.contents;
    if (data.length > MAX_CREDENTIAL_BYTES) throw tooBig;
  } else if (filters.length === 1 && filters[0] === PDFName.of('FlateDecode')) {
    const params = stream.dict.lookup(PDFName.of('DecodeParms'));
    const predictor = params instanceof PDFDict ? params.lookup(PDFName.of('Predictor')) : undefined;
    if (predictor instanceof PDFNumber && predictor.asNumber() > 1) {
      throw new Unreadable('The embedded credential uses a compression this reader does not accept.');
    }
    try {
      data = inflateSync(stream.contents, { maxOutputLength: MAX_CREDENTIAL_BYTES });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig;
      throw new Unreadable('The embedded credential is damaged (its compressed data cannot be read).', { cause: error });
    }
  } else {
    throw new Unreadable('The embedded credential uses a compression this reader does not accept.');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch (error) {
    throw new Unreadable('The embedded credential is not UTF-8 text.', { cause: error });
  }
}
