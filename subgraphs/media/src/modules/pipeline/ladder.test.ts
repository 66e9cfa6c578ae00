// chooseLadder: which rungs a source gets, their sizes (aspect kept, even, never upscaled) and
// bitrates (scaled with pixels).
import { describe, expect, it } from 'vitest';
import { chooseLadder, type Rendition } from './ladder.ts';

const sizes = (ladder: Rendition[]): string[] => ladder.map((r) => `${r.name} ${r.width}x${r.height}`);

describe('chooseLadder', () => {
  it('gives a 1080p source every rung at 16:9 with the reference bitrates', () => {
    const ladder = chooseLadder({ width: 1920, height: 1080 });
    expect(sizes(ladder)).toEqual(['240p 426x240', '360p 640x360', '480p 854x480', '720p 1280x720', '1080p 1920x1080']);
    expect(ladder.map((r) => r.videoKbps)).toEqual([400, 800, 1400, 2800, 5000]);
    expect(ladder[4]).toEqual({ name: '1080p', width: 1920, height: 1080, videoKbps: 5000, maxrateKbps: 5350, bufsizeKbits: 7500, audioKbps: 160 });
  });

  it.each([
    [{ width: 1280, height: 720 }, ['240p 426x240', '360p 640x360', '480p 854x480', '720p 1280x720']],
    [{ width: 854, height: 480 }, ['240p 428x240', '360p 640x360', '480p 854x480']],
    [{ width: 640, height: 360 }, ['240p 426x240', '360p 640x360']],
    [{ width: 534, height: 300 }, ['240p 428x240']],
    [{ width: 3840, height: 2160 }, ['240p 426x240', '360p 640x360', '480p 854x480', '720p 1280x720', '1080p 1920x1080']],
  ])('never upscales: %o', (source, expected) => {
    expect(sizes(chooseLadder(source))).toEqual(expected);
  });

  it('names a portrait video by its short side and keeps its full width', () => {
    expect(sizes(chooseLadder({ width: 720, height: 1280 }))).toEqual(['240p 240x426', '360p 360x640', '480p 480x854', '720p 720x1280']);
    // Same pixels as the landscape rungs, so the same bitrates.
    expect(chooseLadder({ width: 720, height: 1280 }).map((r) => r.videoKbps)).toEqual([400, 800, 1400, 2800]);
  });

  it('scales bitrates with pixels: a 4:3 picture needs less than 16:9', () => {
    const ladder = chooseLadder({ width: 640, height: 480 });
    expect(sizes(ladder)).toEqual(['240p 320x240', '360p 480x360', '480p 640x480']);
    expect(ladder[2]?.videoKbps).toBe(Math.round((1400 * 640 * 480) / (854 * 480)));
  });

  it('keeps every size even and within an odd-sized source', () => {
    const ladder = chooseLadder({ width: 1917, height: 1079 });
    expect(ladder.map((r) => r.name)).toEqual(['240p', '360p', '480p', '720p']);
    for (const r of ladder) {
      expect(r.width % 2).toBe(0);
      expect(r.height % 2).toBe(0);
      expect(r.width).toBeLessThanOrEqual(1917);
      expect(r.height).toBeLessThanOrEqual(1079);
    }
  });

  it('gives a source below 240p one rung at its own even size', () => {
    expect(sizes(chooseLadder({ width: 320, height: 180 }))).toEqual(['180p 320x180']);
    expect(sizes(chooseLadder({ width: 161, height: 121 }))).toEqual(['120p 160x120']);
    expect(sizes(chooseLadder({ width: 99, height: 175 }))).toEqual(['98p 98x174']);
    expect(chooseLadder({ width: 160, height: 120 })[0]?.videoKbps).toBe(100); // the floor
  });

  it('orders rungs with rising bitrates and peaks above the average', () => {
    const ladder = chooseLadder({ width: 1920, height: 800 });
    for (const [i, r] of ladder.entries()) {
      expect(r.maxrateKbps).toBeGreaterThan(r.videoKbps);
      expect(r.bufsizeKbits).toBeGreaterThan(r.videoKbps);
      if (i > 0) expect(r.videoKbps).toBeGreaterThan(ladder[i - 1]!.videoKbps);
    }
  });

  it('refuses a size that is not a picture', () => {
    expect(() => chooseLadder({ width: 0, height: 0 })).toThrow(/at least 2 pixels/);
    expect(() => chooseLadder({ width: Number.NaN, height: 720 })).toThrow();
  });
});
