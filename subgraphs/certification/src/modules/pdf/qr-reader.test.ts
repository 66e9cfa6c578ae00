// The test-only QR reader against the qrcode library (the one the certificate uses): it must
// read back every kind of text at every version the certificates can produce, and notice damage.
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { readQrMatrix } from './qr-reader.ts';

function matrixOf(text: string, version?: number): boolean[][] {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M', ...(version ? { version } : {}) });
  const size = qr.modules.size;
  return Array.from({ length: size }, (_, row) => Array.from({ length: size }, (_, col) => qr.modules.get(row, col) === 1));
}

describe('readQrMatrix', () => {
  it.each([
    ['numeric', '0123456789012'],
    ['alphanumeric', 'HTTPS://LECTERN.EXAMPLE/V/42'],
    ['byte, UTF-8', 'Zoë Ångström — Σωκράτης'],
    ['mixed segments (a real verify URL)', 'https://lectern.example/verify/7d7c1c0e-3f7e-4c55-9b1a-2f0e5d6c9a11'],
  ])('reads %s text', (_kind, text) => {
    const reading = readQrMatrix(matrixOf(text));
    expect(reading.text).toBe(text);
    expect(reading.errorCorrection).toBe('M');
  });

  it('reads every version from 1 to 10 (block interleaving, alignment patterns, version info)', () => {
    for (let version = 1; version <= 10; version++) {
      const text = `https://x.example/${'a'.repeat(version * 9)}`.slice(0, version * 12);
      const reading = readQrMatrix(matrixOf(text, version));
      expect(reading.version).toBe(version);
      expect(reading.text).toBe(text);
    }
  });

  it('notices damage instead of inventing a reading', () => {
    const text = 'https://lectern.example/verify/abc';
    const formatHit = matrixOf(text);
    formatHit[8]![1] = !formatHit[8]![1]; // a format-information module
    expect(() => readQrMatrix(formatHit)).toThrow(/format information/);

    const dataHit = matrixOf(text);
    const size = dataHit.length;
    dataHit[size - 1]![size - 1] = !dataHit[size - 1]![size - 1]; // the first bit of the mode indicator
    let read: string | Error;
    try {
      read = readQrMatrix(dataHit).text;
    } catch (error) {
      read = error as Error;
    }
    expect(read).not.toBe(text);
    expect(() => readQrMatrix([[true, false], [false, true]])).toThrow(/square/);
  });
});
