// Reads the signed credential back out of a certificate PDF (the `credential.json` attachment
// written by certificate-pdf.ts). The public verifier calls this on files anyone can upload, so
// it is written for hostile input:
// - cheap checks first, here: a size cap, the `%PDF-` signature, the `%%EOF` end marker (a
//   truncated download is reported as such instead of being half-read);
// - everything else runs in a worker thread (extract-worker.ts) under a deadline and a heap
//   limit, because pdf-lib's parser can spin for minutes on crafted input and a loop cannot be
//   interrupted. There: a decompression budget for the streams pdf-lib inflates on load, a
//   refusal of files stuffed with what pdf-lib console.warns about (log flooding), pdf-lib
//   itself, a bounded walk of the /EmbeddedFiles name tree, and a capped inflate of the
//   attachment;
// - every failure caused by the file becomes a PdfReadError whose message can be shown to the
//   uploader as is. Only a reader thread that cannot start is a plain Error (a server problem).
import { Worker } from 'node:worker_threads';
import type { ReaderReply } from './extract-worker.ts';

export { DECOMPRESSION_BUDGET, MAX_CREDENTIAL_BYTES } from './attachment.ts';

/** A certificate is tens of KB (a little more with a large logo): far more is not one of ours. */
export const DEFAULT_MAX_PDF_BYTES = 5 * 1024 * 1024;
/** Our certificates load in milliseconds; a file that keeps pdf-lib busy this long is hostile. */
export const DEFAULT_READ_TIMEOUT_MS = 5_000;

/** The bytes are not a readable PDF (or the credential in it is damaged). The message is
 *  written for the person who uploaded the file. */
export class PdfReadError extends Error {
  override name = 'PdfReadError';
}

/** The embedded credential's JSON text, or null when the PDF has none. Throws PdfReadError
 *  (message for people) when the bytes are not a readable PDF. */
export async function credentialFromPdf(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_PDF_BYTES,
  options: { timeoutMs?: number } = {},
): Promise<string | null> {
  if (!(bytes instanceof Uint8Array)) throw new PdfReadError('No file was received.');
  if (bytes.length === 0) throw new PdfReadError('The file is empty.');
  if (bytes.length > maxBytes) {
    throw new PdfReadError(`The file is ${humanSize(bytes.length)}; a certificate PDF is at most ${humanSize(maxBytes)}.`);
  }
  if (!startsWithAscii(bytes, '%PDF-')) throw new PdfReadError(notAPdfMessage(bytes));
  if (!endsWithEofMarker(bytes)) {
    throw new PdfReadError(
      'The PDF is incomplete: its end marker (%%EOF) is missing, so the download or upload was probably cut short.',
    );
  }
  const reply = await readInWorker(bytes, options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS);
  if (reply.kind === 'error') throw new PdfReadError(reply.message, { cause: new Error(reply.detail) });
  return reply.kind === 'text' ? reply.text : null;
}

function humanSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  const value = bytes / (1024 * 1024);
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`;
}

function startsWithAscii(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (bytes[index] !== prefix.charCodeAt(index)) return false;
  return true;
}

function notAPdfMessage(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 512)).toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart().toLowerCase();
  if (/^<(?:!doctype html|html|head|body)\b/.test(head)) {
    return 'This is not a PDF but a web page (HTML), perhaps an error page saved instead of the certificate.';
  }
  return 'This is not a PDF file (a PDF starts with "%PDF-").';
}

/** The marker may be followed by line ends and, in practice, a little junk. */
function endsWithEofMarker(bytes: Uint8Array): boolean {
  const tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 1024))).toString('latin1');
  return tail.includes('%%EOF');
}

// ---------------------------------------------------------------------------------------------
// The reader thread. One long-lived worker (pdf-lib takes ~150 ms to load, parsing one of our
// certificates ~5 ms), used by one request at a time; a request that overruns its deadline or
// the worker's heap limit terminates the worker, and the next request starts a fresh one.

const WORKER_URL = new URL('./extract-worker.ts', import.meta.url);
/** Starting a thread and loading pdf-lib can be slow on a busy machine; that is not the file's fault. */
const WORKER_START_TIMEOUT_MS = 30_000;

let reader: Promise<Worker> | undefined;
let queue: Promise<unknown> = Promise.resolve();

function readInWorker(bytes: Uint8Array, timeoutMs: number): Promise<ReaderReply> {
  const turn = queue.then(() => readOnce(bytes, timeoutMs));
  queue = turn.catch(() => undefined);
  return turn;
}

function startReader(): Promise<Worker> {
  const worker = new Worker(WORKER_URL, {
    // Objects parsed from a 5 MiB file fit easily; a file that needs more is not a certificate.
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
    execArgv: [],
  });
  worker.unref(); // an idle reader must not keep the process alive
  return new Promise((resolve, reject) => {
    const listeners = {
      message: (): void => {
        stop();
        resolve(worker);
      },
      error: (error: Error): void => fail(error),
      exit: (code: number): void => fail(new Error(`the PDF reader thread exited while starting (code ${code})`)),
    };
    const timer = setTimeout(() => fail(new Error(`the PDF reader thread did not start within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
    // Only our own listeners: removeAllListeners() would also drop Node's internal ones.
    const stop = (): void => {
      clearTimeout(timer);
      worker.off('message', listeners.message).off('error', listeners.error).off('exit', listeners.exit);
    };
    const fail = (error: Error): void => {
      stop();
      void worker.terminate();
      reject(error);
    };
    worker.once('message', listeners.message).once('error', listeners.error).once('exit', listeners.exit);
  });
}

async function readOnce(bytes: Uint8Array, timeoutMs: number): Promise<ReaderReply> {
  reader ??= startReader();
  let worker: Worker;
  try {
    worker = await reader;
  } catch (error) {
    reader = undefined; // a server problem (not a PdfReadError): let the next request try again
    throw error;
  }
  const tooComplex = 'The PDF is too complex to read; it is not a Lectern certificate.';
  return new Promise((resolve, reject) => {
    const listeners = {
      message: (reply: ReaderReply): void => settle(false, () => resolve(reply)),
      // Out of heap (ERR_WORKER_OUT_OF_MEMORY) or a crash while parsing: blame the file, restart.
      error: (error: Error): void => settle(true, () => reject(new PdfReadError(tooComplex, { cause: error }))),
      exit: (code: number): void =>
        settle(true, () => reject(new PdfReadError('The PDF could not be read.', { cause: new Error(`reader thread exited (code ${code})`) }))),
    };
    const timer = setTimeout(() => settle(true, () => reject(new PdfReadError(tooComplex))), timeoutMs);
    const settle = (restart: boolean, outcome: () => void): void => {
      clearTimeout(timer);
      worker.off('message', listeners.message).off('error', listeners.error).off('exit', listeners.exit);
      if (restart) {
        reader = undefined;
        void worker.terminate();
      }
      outcome();
    };
    worker.once('message', listeners.message).once('error', listeners.error).once('exit', listeners.exit);
    worker.postMessage(bytes);
  });
}
