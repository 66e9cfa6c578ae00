// The contract between the certificate PDF's writer (certificate-pdf.ts) and its reader
// (extract.ts, extract-worker.ts): what the embedded credential is called, how big it may be,
// and how much decompression the reader allows. Kept apart so the public verifier, which only
// reads, loads neither the renderer (fonts, QR codes) nor, on its main thread, pdf-lib.

/** File name of the embedded signed credential (the PDF's /EmbeddedFiles name tree key). */
export const CREDENTIAL_ATTACHMENT = 'credential.json';

/** The reader refuses bigger credentials (a decompression-bomb guard), so the writer must too.
 *  A signed Open Badges 3.0 credential is a few KB. */
export const MAX_CREDENTIAL_BYTES = 1024 * 1024;

/** What the reader lets the object and cross-reference streams of one PDF inflate to in total
 *  (pdf-lib decodes them all while loading). Our certificates need a few KB. */
export const DECOMPRESSION_BUDGET = 32 * 1024 * 1024;
