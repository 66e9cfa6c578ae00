// The HLS playlist reader: valid master/media playlists (as ffmpeg and we write them), and the
// texts it must refuse.
import { describe, expect, it } from 'vitest';
import { parseAttributes, parseMaster, parseMedia } from './hls.ts';

const MASTER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=536928,AVERAGE-BANDWIDTH=498012,RESOLUTION=426x240,CODECS="avc1.4d4015,mp4a.40.2",FRAME-RATE=25.000
240p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=985600,CODECS="avc1.4d401e,mp4a.40.2"
360p/index.m3u8
`;

const MEDIA = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:6.000000,
seg_00001.ts
#EXTINF:2.040000,a title
seg_00002.ts
#EXT-X-ENDLIST
`;

describe('parseMaster', () => {
  it('reads variants with bandwidth, resolution and codecs (commas inside quotes)', () => {
    expect(parseMaster(MASTER)).toEqual({
      variants: [
        { uri: '240p/index.m3u8', bandwidth: 536928, width: 426, height: 240, codecs: 'avc1.4d4015,mp4a.40.2' },
        { uri: '360p/index.m3u8', bandwidth: 985600, width: null, height: null, codecs: 'avc1.4d401e,mp4a.40.2' },
      ],
    });
  });

  it('accepts a BOM and CRLF line ends', () => {
    expect(parseMaster(`\uFEFF${MASTER.replace(/\n/g, '\r\n')}`).variants).toHaveLength(2);
  });

  it('refuses what is not a master playlist', () => {
    expect(() => parseMaster('')).toThrow(/#EXTM3U/);
    expect(() => parseMaster(MASTER.replace('#EXTM3U\n', ''))).toThrow(/first line is not #EXTM3U/);
    expect(() => parseMaster(MEDIA)).toThrow(/media playlist/);
    expect(() => parseMaster('#EXTM3U\n#EXT-X-VERSION:6\n')).toThrow(/no #EXT-X-STREAM-INF/);
    expect(() => parseMaster('#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=426x240\na.m3u8\n')).toThrow(/line 2.*BANDWIDTH/);
    expect(() => parseMaster('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n')).toThrow(/not followed by a URI/);
  });
});

describe('parseMedia', () => {
  it('reads target duration, segments and the end marker', () => {
    expect(parseMedia(MEDIA)).toEqual({
      targetDuration: 6,
      segments: [
        { uri: 'seg_00001.ts', duration: 6 },
        { uri: 'seg_00002.ts', duration: 2.04 },
      ],
      endList: true,
    });
    expect(parseMedia(MEDIA.replace('#EXT-X-ENDLIST\n', '')).endList).toBe(false);
  });

  it('refuses what is not a media playlist', () => {
    expect(() => parseMedia('seg_00001.ts\n')).toThrow(/#EXTM3U/);
    expect(() => parseMedia(MASTER)).toThrow(/master playlist/);
    expect(() => parseMedia(MEDIA.replace('#EXT-X-TARGETDURATION:6\n', ''))).toThrow(/TARGETDURATION/);
    expect(() => parseMedia(MEDIA.replace('#EXTINF:6.000000,', '#EXTINF:six,'))).toThrow(/line 7: bad #EXTINF/);
    expect(() => parseMedia('#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n#EXT-X-ENDLIST\n')).toThrow(/not followed by a URI/);
  });
});

describe('parseAttributes', () => {
  it('splits on commas outside quotes', () => {
    expect(Object.fromEntries(parseAttributes('A=1,B="x,y",C=0x1F,RESOLUTION=1x2'))).toEqual({ A: '1', B: 'x,y', C: '0x1F', RESOLUTION: '1x2' });
  });
});
