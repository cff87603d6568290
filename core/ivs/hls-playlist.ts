/**
 * The part of HLS (RFC 8216) that IVS recordings use: media playlists with
 * `#EXT-X-PROGRAM-DATE-TIME` on every segment, byte-range variants (`#EXT-X-BYTERANGE`), and
 * multivariant playlists. IVS adds non-standard tags (`#ID3-EQUIV-TDTG`,
 * `#EXT-X-TWITCH-ELAPSED-SECS`, …), so unknown tags are ignored, as the RFC requires.
 */

export interface ByteRange {
  offset: number;
  length: number;
}

export interface MediaSegment {
  uri: string;
  durationMs: number;
  /** Wall-clock time of the segment's first sample (epoch ms); carried forward from the last tag. */
  programDateTimeMs?: number;
  byteRange?: ByteRange;
  /** An `#EXT-X-DISCONTINUITY` precedes this segment (timestamps or encoding may change). */
  discontinuity: boolean;
}

export interface MediaPlaylist {
  version?: number;
  targetDurationS: number;
  mediaSequence: number;
  playlistType?: 'EVENT' | 'VOD';
  /** `#EXT-X-ENDLIST`: no segment will be added. */
  endList: boolean;
  segments: MediaSegment[];
}

export interface VariantStream {
  uri: string;
  bandwidth: number;
  resolution?: { width: number; height: number };
  /** IVS names the rendition in the `VIDEO` attribute (e.g. `720p30`). */
  video?: string;
  codecs?: string;
}

export interface MultivariantPlaylist {
  variants: VariantStream[];
}

export class PlaylistParseError extends Error {
  constructor(
    readonly lineNumber: number,
    reason: string,
  ) {
    super(`HLS playlist line ${lineNumber}: ${reason}`);
    this.name = 'PlaylistParseError';
  }
}

function lines(text: string): Array<{ line: string; number: number }> {
  const result = text.split(/\r?\n/).map((line, index) => ({ line: line.trim(), number: index + 1 }));
  if (result[0]?.line !== '#EXTM3U') throw new PlaylistParseError(1, 'does not start with #EXTM3U');
  return result.filter(({ line }) => line !== '');
}

function tagValue(line: string): string {
  return line.slice(line.indexOf(':') + 1);
}

function finiteNumber(raw: string, lineNumber: number, what: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new PlaylistParseError(lineNumber, `${what} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return value;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const playlist: MediaPlaylist = { targetDurationS: 0, mediaSequence: 0, endList: false, segments: [] };
  let pendingDurationMs: number | undefined;
  let pendingByteRange: { length: number; offset?: number } | undefined;
  let pendingDateTimeMs: number | undefined;
  let pendingDiscontinuity = false;
  let previous: MediaSegment | undefined;

  for (const { line, number } of lines(text).slice(1)) {
    if (!line.startsWith('#')) {
      if (pendingDurationMs === undefined)
        throw new PlaylistParseError(number, `segment ${JSON.stringify(line)} has no #EXTINF`);
      const segment: MediaSegment = { uri: line, durationMs: pendingDurationMs, discontinuity: pendingDiscontinuity };
      if (pendingDateTimeMs !== undefined) segment.programDateTimeMs = pendingDateTimeMs;
      else if (previous?.programDateTimeMs !== undefined && !pendingDiscontinuity) {
        segment.programDateTimeMs = previous.programDateTimeMs + previous.durationMs;
      }
      if (pendingByteRange) {
        let offset = pendingByteRange.offset;
        if (offset === undefined) {
          // RFC 8216 §4.3.2.2: without an offset the range continues the previous one of the same resource.
          if (!previous?.byteRange || previous.uri !== line)
            throw new PlaylistParseError(
              number,
              'byte range without offset does not follow a range of the same resource',
            );
          offset = previous.byteRange.offset + previous.byteRange.length;
        }
        segment.byteRange = { offset, length: pendingByteRange.length };
      }
      playlist.segments.push(segment);
      previous = segment;
      pendingDurationMs = undefined;
      pendingByteRange = undefined;
      pendingDateTimeMs = undefined;
      pendingDiscontinuity = false;
      continue;
    }
    const tag = line.includes(':') ? line.slice(0, line.indexOf(':')) : line;
    switch (tag) {
      case '#EXT-X-VERSION':
        playlist.version = finiteNumber(tagValue(line), number, 'EXT-X-VERSION');
        break;
      case '#EXT-X-TARGETDURATION':
        playlist.targetDurationS = finiteNumber(tagValue(line), number, 'EXT-X-TARGETDURATION');
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        playlist.mediaSequence = finiteNumber(tagValue(line), number, 'EXT-X-MEDIA-SEQUENCE');
        break;
      case '#EXT-X-PLAYLIST-TYPE': {
        const type = tagValue(line);
        if (type !== 'EVENT' && type !== 'VOD')
          throw new PlaylistParseError(number, `unknown playlist type ${JSON.stringify(type)}`);
        playlist.playlistType = type;
        break;
      }
      case '#EXT-X-ENDLIST':
        playlist.endList = true;
        break;
      case '#EXTINF': {
        const seconds = tagValue(line).split(',')[0]!;
        pendingDurationMs = Math.round(finiteNumber(seconds, number, 'EXTINF duration') * 1000);
        break;
      }
      case '#EXT-X-BYTERANGE': {
        const [length, offset] = tagValue(line).split('@');
        pendingByteRange = { length: finiteNumber(length!, number, 'byte range length') };
        if (offset !== undefined) pendingByteRange.offset = finiteNumber(offset, number, 'byte range offset');
        break;
      }
      case '#EXT-X-PROGRAM-DATE-TIME': {
        const parsed = Date.parse(tagValue(line));
        if (Number.isNaN(parsed))
          throw new PlaylistParseError(number, `invalid program date-time ${JSON.stringify(tagValue(line))}`);
        pendingDateTimeMs = parsed;
        break;
      }
      case '#EXT-X-DISCONTINUITY':
        pendingDiscontinuity = true;
        break;
      default:
        // Unknown and unused tags (IVS's #ID3-EQUIV-TDTG, #EXT-X-TWITCH-*, comments) are ignored.
        break;
    }
  }
  return playlist;
}

/** `KEY=value,KEY="quoted, with commas"` → map (RFC 8216 §4.2). */
export function parseAttributeList(raw: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  for (const match of raw.matchAll(pattern)) {
    const value = match[2]!;
    attributes[match[1]!] = value.startsWith('"') ? value.slice(1, -1) : value;
  }
  return attributes;
}

export function parseMultivariantPlaylist(text: string): MultivariantPlaylist {
  const variants: VariantStream[] = [];
  let pending: Record<string, string> | undefined;
  let pendingLine = 0;
  for (const { line, number } of lines(text).slice(1)) {
    if (line.startsWith('#EXT-X-STREAM-INF:')) {
      pending = parseAttributeList(tagValue(line));
      pendingLine = number;
    } else if (!line.startsWith('#') && pending) {
      const bandwidth = Number(pending.BANDWIDTH);
      if (!Number.isFinite(bandwidth)) throw new PlaylistParseError(pendingLine, 'EXT-X-STREAM-INF has no BANDWIDTH');
      const variant: VariantStream = { uri: line, bandwidth };
      const resolution = /^(\d+)x(\d+)$/.exec(pending.RESOLUTION ?? '');
      if (resolution) variant.resolution = { width: Number(resolution[1]), height: Number(resolution[2]) };
      if (pending.VIDEO) variant.video = pending.VIDEO;
      if (pending.CODECS) variant.codecs = pending.CODECS;
      variants.push(variant);
      pending = undefined;
    }
  }
  return { variants };
}

function isoWithMillis(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export interface SerializeOptions {
  /** Extra tags written after the header, e.g. IVS's `#EXT-X-TWITCH-ELAPSED-SECS:0.000`. */
  headerTags?: string[];
}

export function serializeMediaPlaylist(playlist: MediaPlaylist, options: SerializeOptions = {}): string {
  const out = ['#EXTM3U', `#EXT-X-VERSION:${playlist.version ?? (playlist.segments.some((s) => s.byteRange) ? 4 : 3)}`];
  out.push(`#EXT-X-TARGETDURATION:${playlist.targetDurationS}`);
  if (playlist.playlistType) out.push(`#EXT-X-PLAYLIST-TYPE:${playlist.playlistType}`);
  out.push(`#EXT-X-MEDIA-SEQUENCE:${playlist.mediaSequence}`);
  out.push(...(options.headerTags ?? []));
  for (const segment of playlist.segments) {
    if (segment.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    if (segment.programDateTimeMs !== undefined)
      out.push(`#EXT-X-PROGRAM-DATE-TIME:${isoWithMillis(segment.programDateTimeMs)}`);
    out.push(`#EXTINF:${(segment.durationMs / 1000).toFixed(3)},`);
    if (segment.byteRange) out.push(`#EXT-X-BYTERANGE:${segment.byteRange.length}@${segment.byteRange.offset}`);
    out.push(segment.uri);
  }
  if (playlist.endList) out.push('#EXT-X-ENDLIST');
  return `${out.join('\n')}\n`;
}

export function serializeMultivariantPlaylist(playlist: MultivariantPlaylist): string {
  const out = ['#EXTM3U', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of playlist.variants) {
    const attributes = [`BANDWIDTH=${variant.bandwidth}`];
    if (variant.resolution) attributes.push(`RESOLUTION=${variant.resolution.width}x${variant.resolution.height}`);
    if (variant.codecs) attributes.push(`CODECS="${variant.codecs}"`);
    if (variant.video) attributes.push(`VIDEO="${variant.video}"`);
    out.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, variant.uri);
  }
  return `${out.join('\n')}\n`;
}
