// Test support: runs poppler-utils (pdfinfo, pdftotext, pdftoppm, pdfdetach) as an independent
// reader of the PDFs we write, reads its raster output (PGM/PPM, trivial formats, so no image
// package is needed), and builds small PNG files for logo tests. A missing tool is an error
// with the install hint, never a skipped test: CI without poppler must fail loudly.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { deflateSync, crc32 } from 'node:zlib';

export async function runTool(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${command} is not installed: these tests need poppler-utils (Debian: apt-get install poppler-utils)`));
      } else if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed (${error.message}): ${stderr.toString('utf8')}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Throws (with the install hint) unless every tool can be started; `-v` exits non-zero in
 *  poppler, so only "not found" counts. */
export async function requireTools(commands: string[]): Promise<void> {
  for (const command of commands) {
    await new Promise<void>((resolve, reject) => {
      execFile(command, ['-v'], { timeout: 10_000 }, (error) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${command} is not installed: these tests need poppler-utils (Debian: apt-get install poppler-utils)`));
        } else resolve();
      });
    });
  }
}

export async function pdfText(pdfPath: string): Promise<string> {
  return (await runTool('pdftotext', ['-enc', 'UTF-8', pdfPath, '-'])).toString('utf8').normalize('NFC');
}

export interface WordBox {
  text: string;
  /** Points, origin top left (poppler's -bbox convention). */
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

export async function wordBoxes(pdfPath: string): Promise<WordBox[]> {
  const html = (await runTool('pdftotext', ['-bbox', '-enc', 'UTF-8', pdfPath, '-'])).toString('utf8');
  const words: WordBox[] = [];
  for (const match of html.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)) {
    const [, xMin, yMin, xMax, yMax, text] = match;
    words.push({ text: text ?? '', xMin: Number(xMin), yMin: Number(yMin), xMax: Number(xMax), yMax: Number(yMax) });
  }
  return words;
}

export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

/** Page 1 rendered by pdftoppm as PGM (gray) or PPM (colour). */
export async function renderRaster(pdfPath: string, outPrefix: string, dpi: number, color: 'gray' | 'rgb'): Promise<Raster> {
  await runTool('pdftoppm', ['-r', String(dpi), '-f', '1', '-l', '1', '-singlefile', ...(color === 'gray' ? ['-gray'] : []), pdfPath, outPrefix]);
  return parsePnm(await readFile(`${outPrefix}.${color === 'gray' ? 'pgm' : 'ppm'}`));
}

function parsePnm(file: Buffer): Raster {
  // Header: magic, width, height, maxval, separated by whitespace (and maybe # comments).
  const tokens: string[] = [];
  let offset = 0;
  while (tokens.length < 4) {
    while (/\s/.test(String.fromCharCode(file[offset] ?? 0x20)) && offset < file.length) offset++;
    if (file[offset] === 0x23) {
      while (file[offset] !== 0x0a && offset < file.length) offset++;
      continue;
    }
    let token = '';
    while (offset < file.length && !/\s/.test(String.fromCharCode(file[offset]!))) token += String.fromCharCode(file[offset++]!);
    tokens.push(token);
  }
  offset++; // the single whitespace byte before the pixels
  const [magic, width, height, maxValue] = tokens;
  if ((magic !== 'P5' && magic !== 'P6') || maxValue !== '255') throw new Error(`unexpected PNM header ${tokens.join(' ')}`);
  const channels = magic === 'P5' ? 1 : 3;
  return { width: Number(width), height: Number(height), channels, pixels: file.subarray(offset) };
}

/** Channel values of the pixel at (x, y), origin top left. */
export function pixel(raster: Raster, x: number, y: number): number[] {
  const start = (Math.floor(y) * raster.width + Math.floor(x)) * raster.channels;
  return Array.from(raster.pixels.subarray(start, start + raster.channels));
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (view.getUint32(0) !== 0x89504e47) throw new Error('not a PNG');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** A solid-colour 8-bit RGB PNG. */
export function makePng(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(pixels)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}
