// Test support: reads the text back out of a QR code's module grid, so the certificate tests can
// check that the code printed on the page really leads to the verify URL (no scanner package is
// installed). It is a reader of clean, already-sampled grids, not a scanner: no perspective, no
// Reed-Solomon correction (a wrong module fails the read instead of being repaired), versions
// 1-10 at level M in full (other levels: format only), numeric/alphanumeric/byte segments.
// Layout rules follow ISO/IEC 18004 as laid out in Project Nayuki's QR Code generator.

export interface QrReading {
  text: string;
  version: number;
  errorCorrection: 'L' | 'M' | 'Q' | 'H';
  mask: number;
}

// Per version 1-10, level M: error-correction codewords per block, and number of blocks.
const M_ECC_PER_BLOCK = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26];
const M_BLOCKS = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5];
const LEVEL_BY_FORMAT_BITS = { 0: 'M', 1: 'L', 2: 'H', 3: 'Q' } as const;
const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** `dark[row][col]`, row 0 at the top, the quiet zone not included. */
export function readQrMatrix(dark: readonly (readonly boolean[])[]): QrReading {
  const size = dark.length;
  const version = (size - 17) / 4;
  if (!Number.isInteger(version) || version < 1 || version > 40 || dark.some((row) => row.length !== size)) {
    throw new Error(`a QR code is a square of 21, 25, ... 177 modules; this grid is ${size} x ${dark[0]?.length ?? 0}`);
  }
  const at = (row: number, col: number): boolean => dark[row]?.[col] === true;

  // Format information: 15 bits around the top-left finder, matched against the 32 valid words.
  let format = 0;
  const formatCells: [number, number][] = [
    [0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7],
    [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0],
  ];
  formatCells.forEach(([row, col], bit) => {
    if (at(row, col)) format |= 1 << bit;
  });
  let levelBits = -1;
  let mask = -1;
  for (let data = 0; data < 32; data++) {
    if (formatWord(data) === format) {
      levelBits = data >> 3;
      mask = data & 7;
    }
  }
  if (mask < 0) throw new Error(`the format information ${format.toString(2).padStart(15, '0')} is not a valid QR format word`);
  const errorCorrection = LEVEL_BY_FORMAT_BITS[levelBits as 0 | 1 | 2 | 3];
  if (errorCorrection !== 'M' || version > 10) {
    throw new Error(`this reader decodes versions 1-10 at level M only (got version ${version}, level ${errorCorrection})`);
  }

  // Data modules, read in the standard two-column zigzag from the bottom right, unmasked.
  const reserved = functionModules(version, size);
  const bits: number[] = [];
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // the vertical timing pattern
    for (let vertical = 0; vertical < size; vertical++) {
      for (let j = 0; j < 2; j++) {
        const col = right - j;
        const upward = ((right + 1) & 2) === 0;
        const row = upward ? size - 1 - vertical : vertical;
        if (reserved[row]?.[col]) continue;
        bits.push(Number(at(row, col) !== masked(mask, row, col)));
      }
    }
  }
  const codewords: number[] = [];
  for (let index = 0; index + 8 <= bits.length; index += 8) {
    codewords.push(bits.slice(index, index + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
  }

  // Undo the block interleaving; keep the data codewords (error correction is not checked).
  const blockCount = M_BLOCKS[version - 1] ?? 0;
  const eccPerBlock = M_ECC_PER_BLOCK[version - 1] ?? 0;
  const shortBlockLength = Math.floor(codewords.length / blockCount);
  const shortBlocks = blockCount - (codewords.length % blockCount);
  const shortDataLength = shortBlockLength - eccPerBlock;
  const blocks = Array.from({ length: blockCount }, () => new Array<number>(shortBlockLength + 1).fill(0));
  let next = 0;
  for (let i = 0; i <= shortBlockLength; i++) {
    blocks.forEach((block, j) => {
      if (i !== shortDataLength || j >= shortBlocks) block[i] = codewords[next++] ?? 0;
    });
  }
  const data = blocks.flatMap((block, j) => block.slice(0, shortDataLength + (j >= shortBlocks ? 1 : 0)));

  return { text: parseSegments(data, version), version, errorCorrection, mask };
}

/** The 15-bit format word for 5 data bits (level + mask): BCH(15,5), then the fixed XOR mask. */
function formatWord(data: number): number {
  let remainder = data;
  for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
  return ((data << 10) | remainder) ^ 0x5412;
}

function masked(mask: number, row: number, col: number): boolean {
  switch (mask) {
    case 0: return (col + row) % 2 === 0;
    case 1: return row % 2 === 0;
    case 2: return col % 3 === 0;
    case 3: return (col + row) % 3 === 0;
    case 4: return (Math.floor(col / 3) + Math.floor(row / 2)) % 2 === 0;
    case 5: return ((col * row) % 2) + ((col * row) % 3) === 0;
    case 6: return (((col * row) % 2) + ((col * row) % 3)) % 2 === 0;
    default: return (((col + row) % 2) + ((col * row) % 3)) % 2 === 0;
  }
}

/** Finders with separators and format areas, timing lines, alignment patterns, version info. */
function functionModules(version: number, size: number): boolean[][] {
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const fill = (top: number, left: number, height: number, width: number): void => {
    for (let row = Math.max(0, top); row < Math.min(size, top + height); row++) {
      for (let col = Math.max(0, left); col < Math.min(size, left + width); col++) grid[row]![col] = true;
    }
  };
  fill(0, 0, 9, 9);
  fill(0, size - 8, 9, 8);
  fill(size - 8, 0, 8, 9);
  fill(6, 0, 1, size);
  fill(0, 6, size, 1);
  const centres = alignmentCentres(version, size);
  for (const row of centres) {
    for (const col of centres) {
      const onFinder = (row === 6 && col === 6) || (row === 6 && col === size - 7) || (row === size - 7 && col === 6);
      if (!onFinder) fill(row - 2, col - 2, 5, 5);
    }
  }
  if (version >= 7) {
    fill(0, size - 11, 6, 3);
    fill(size - 11, 0, 3, 6);
  }
  return grid;
}

function alignmentCentres(version: number, size: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
  const centres = [6];
  for (let position = size - 7; centres.length < count; position -= step) centres.splice(1, 0, position);
  return centres;
}

function parseSegments(data: number[], version: number): string {
  let position = 0;
  const remaining = (): number => data.length * 8 - position;
  const read = (count: number): number => {
    if (count > remaining()) throw new Error('the QR data ends in the middle of a segment');
    let value = 0;
    for (let i = 0; i < count; i++, position++) value = (value << 1) | (((data[position >> 3] ?? 0) >> (7 - (position & 7))) & 1);
    return value;
  };
  const group = version <= 9 ? 0 : version <= 26 ? 1 : 2;
  const bytes: number[] = [];
  while (remaining() >= 4) {
    const mode = read(4);
    if (mode === 0) break;
    if (mode === 1) {
      let count = read([10, 12, 14][group]!);
      for (; count >= 3; count -= 3) bytes.push(...String(read(10)).padStart(3, '0').split('').map((c) => c.charCodeAt(0)));
      if (count > 0) bytes.push(...String(read(count === 2 ? 7 : 4)).padStart(count, '0').split('').map((c) => c.charCodeAt(0)));
    } else if (mode === 2) {
      let count = read([9, 11, 13][group]!);
      for (; count >= 2; count -= 2) {
        const pair = read(11);
        bytes.push(ALPHANUMERIC.charCodeAt(Math.floor(pair / 45)), ALPHANUMERIC.charCodeAt(pair % 45));
      }
      if (count === 1) bytes.push(ALPHANUMERIC.charCodeAt(read(6)));
    } else if (mode === 4) {
      const count = read([8, 16, 16][group]!);
      for (let i = 0; i < count; i++) bytes.push(read(8));
    } else {
      throw new Error(`QR segment mode ${mode} is not supported by this reader`);
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}
