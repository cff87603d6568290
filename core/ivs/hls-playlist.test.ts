import { describe, expect, it } from 'vitest';
import {
  parseAttributeList,
  parseMediaPlaylist,
  parseMultivariantPlaylist,
  PlaylistParseError,
  serializeMediaPlaylist,
  serializeMultivariantPlaylist,
} from './hls-playlist.ts';

// The head of a real IVS rendition playlist (aws-samples/amazon-ivs-clip-manifest, doc/sample-recs), IVS's own tags included.
const IVS_EVENT_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:12
#ID3-EQUIV-TDTG:2023-02-09T22:58:35
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-TWITCH-ELAPSED-SECS:0.000
#EXT-X-TWITCH-TOTAL-SECS:171.546
#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:41.550Z
#EXTINF:10.267,
0.ts
#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:51.817Z
#EXTINF:10.000,
1.ts
#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:56:01.817Z
#EXTINF:10.666,
2.ts
#EXT-X-ENDLIST
`;

const IVS_BYTE_RANGE_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:12
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:41.550Z
#EXTINF:1.000,
#EXT-X-BYTERANGE:141188@0
0.ts
#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:42.550Z
#EXTINF:1.267,
#EXT-X-BYTERANGE:247784@141188
0.ts
#EXTINF:1.000,
#EXT-X-BYTERANGE:172584
0.ts
#EXT-X-ENDLIST
`;

describe('parseMediaPlaylist', () => {
  it('reads an IVS rendition playlist, ignoring IVS-only tags', () => {
    const playlist = parseMediaPlaylist(IVS_EVENT_PLAYLIST);
    expect(playlist).toMatchObject({
      version: 3,
      targetDurationS: 12,
      mediaSequence: 0,
      playlistType: 'EVENT',
      endList: true,
    });
    expect(playlist.segments).toEqual([
      {
        uri: '0.ts',
        durationMs: 10_267,
        programDateTimeMs: Date.parse('2023-02-09T22:55:41.550Z'),
        discontinuity: false,
      },
      {
        uri: '1.ts',
        durationMs: 10_000,
        programDateTimeMs: Date.parse('2023-02-09T22:55:51.817Z'),
        discontinuity: false,
      },
      {
        uri: '2.ts',
        durationMs: 10_666,
        programDateTimeMs: Date.parse('2023-02-09T22:56:01.817Z'),
        discontinuity: false,
      },
    ]);
  });

  it('reads byte ranges, continuing an offset-less range from the previous one, and carries program date-time forward', () => {
    const { segments } = parseMediaPlaylist(IVS_BYTE_RANGE_PLAYLIST);
    expect(segments.map((s) => s.byteRange)).toEqual([
      { offset: 0, length: 141_188 },
      { offset: 141_188, length: 247_784 },
      { offset: 388_972, length: 172_584 },
    ]);
    expect(segments[2]!.programDateTimeMs).toBe(Date.parse('2023-02-09T22:55:42.550Z') + 1_267);
  });

  it('is live while there is no ENDLIST', () => {
    expect(parseMediaPlaylist(IVS_EVENT_PLAYLIST.replace('#EXT-X-ENDLIST\n', '')).endList).toBe(false);
  });

  it('does not carry program date-time across a discontinuity', () => {
    const text =
      '#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n#EXTINF:2,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\nb.ts\n';
    const [a, b] = parseMediaPlaylist(text).segments;
    expect(a!.programDateTimeMs).toBe(Date.parse('2024-01-01T00:00:00.000Z'));
    expect(b).toEqual({ uri: 'b.ts', durationMs: 2_000, discontinuity: true });
  });

  it.each([
    ['no #EXTM3U', '#EXTINF:2,\na.ts\n', /line 1: does not start with #EXTM3U/],
    ['a segment without EXTINF', '#EXTM3U\na.ts\n', /line 2: segment "a.ts" has no #EXTINF/],
    ['a bad duration', '#EXTM3U\n#EXTINF:soon,\na.ts\n', /line 2: EXTINF duration must be a non-negative number/],
    ['a bad date', '#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n', /line 2: invalid program date-time/],
    ['an orphan byte range', '#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100\na.ts\n', /line 4: byte range without offset/],
    ['an unknown playlist type', '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n', /unknown playlist type/],
  ])('reports %s with its line', (_what, text, message) => {
    expect(() => parseMediaPlaylist(text)).toThrow(PlaylistParseError);
    expect(() => parseMediaPlaylist(text)).toThrow(message);
  });

  it('round-trips through serializeMediaPlaylist', () => {
    const playlist = parseMediaPlaylist(IVS_BYTE_RANGE_PLAYLIST);
    const again = parseMediaPlaylist(
      serializeMediaPlaylist(playlist, { headerTags: ['#EXT-X-TWITCH-ELAPSED-SECS:0.000'] }),
    );
    expect(again).toEqual(playlist);
  });
});

describe('multivariant playlists', () => {
  it('reads variants with their IVS rendition names', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-STREAM-INF:BANDWIDTH=2596000,RESOLUTION=1280x720,CODECS="avc1.4D401F,mp4a.40.2",VIDEO="720p30"',
      '720p30/playlist.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=796000,RESOLUTION=640x360,VIDEO="360p30"',
      '360p30/playlist.m3u8',
    ].join('\n');
    expect(parseMultivariantPlaylist(text).variants).toEqual([
      {
        uri: '720p30/playlist.m3u8',
        bandwidth: 2_596_000,
        resolution: { width: 1280, height: 720 },
        video: '720p30',
        codecs: 'avc1.4D401F,mp4a.40.2',
      },
      { uri: '360p30/playlist.m3u8', bandwidth: 796_000, resolution: { width: 640, height: 360 }, video: '360p30' },
    ]);
    const variants = parseMultivariantPlaylist(text).variants;
    expect(parseMultivariantPlaylist(serializeMultivariantPlaylist({ variants })).variants).toEqual(variants);
  });

  it('parses quoted attribute values that hold commas', () => {
    expect(parseAttributeList('BANDWIDTH=1,CODECS="a,b",NAME=x')).toEqual({ BANDWIDTH: '1', CODECS: 'a,b', NAME: 'x' });
  });
});
