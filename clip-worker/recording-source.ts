import { open } from 'node:fs/promises';
import { parseMediaPlaylist, parseMultivariantPlaylist, type MediaPlaylist } from '../core/ivs/hls-playlist.ts';
import { programTablePackets, startsWithProgramAssociation, TS_PACKET_SIZE } from '../core/ivs/mpegts.ts';
import { recordingMetadataValidator } from '../core/ivs/recording-metadata.ts';
import { recordingKeys } from '../core/ivs/recording-layout.ts';
import { ObjectNotFoundError, type ObjectStore } from '../core/object-store/object-store.ts';
import { CorruptRecordingError, RecordingNotReadyError } from './clip-errors.ts';
import type { FetchRange } from './clip-plan.ts';

/**
 * Reading an IVS recording from the object store: which renditions it has, the playlist of the
 * one clips are cut from, and the bytes a plan needs.
 */
export interface RenditionInfo {
  name: string;
  width: number;
  height: number;
}

export interface LoadedPlaylist {
  rendition: RenditionInfo;
  playlist: MediaPlaylist;
  /** The ~1 s keyframe-aligned byte-range variant (written when the recording ends) was used. */
  byteRange: boolean;
}

/** The object's JSON value, or null when there is no such object. */
async function readJson(store: ObjectStore, key: string): Promise<unknown> {
  try {
    return JSON.parse((await store.get(key)).toString('utf8')) as unknown;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    if (error instanceof SyntaxError) throw new CorruptRecordingError(`${key} is not JSON`, { cause: error });
    throw error;
  }
}

async function readText(store: ObjectStore, key: string): Promise<string | null> {
  try {
    return (await store.get(key)).toString('utf8');
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

/**
 * Renditions from `events/recording-ended.json` or `recording-started.json` (IVS writes the
 * latter when recording starts), else from the multivariant playlist.
 */
export async function recordingRenditions(store: ObjectStore, prefix: string): Promise<RenditionInfo[]> {
  for (const event of ['recording-ended', 'recording-started'] as const) {
    const metadata = await readJson(store, recordingKeys.event(prefix, event));
    if (metadata === null) continue;
    if (!recordingMetadataValidator.check(metadata)) {
      const errors = recordingMetadataValidator
        .errors(metadata, 3)
        .map((e) => `${e.path} ${e.message}`)
        .join('; ');
      throw new CorruptRecordingError(`${recordingKeys.event(prefix, event)}: ${errors}`);
    }
    return metadata.media.hls.renditions.map((r) => ({
      name: r.path,
      width: r.resolution_width,
      height: r.resolution_height,
    }));
  }
  const master = await readText(store, recordingKeys.masterPlaylist(prefix));
  if (master === null)
    throw new RecordingNotReadyError('recording', `recording ${prefix} has no metadata or playlist yet`, 5_000);
  return parseMultivariantPlaylist(master)
    .variants.filter((v) => v.resolution)
    .map((v) => ({ name: v.uri.split('/')[0]!, width: v.resolution!.width, height: v.resolution!.height }));
}

/** The source rendition: the highest resolution the recording has. */
export function sourceRendition(renditions: RenditionInfo[]): RenditionInfo {
  if (renditions.length === 0) throw new CorruptRecordingError('the recording lists no rendition');
  return renditions.reduce((a, b) => (b.height * b.width > a.height * a.width ? b : a));
}

/**
 * The byte-range variant when it exists (the recording has ended: ~1 s keyframe-aligned
 * pieces), else the rendition's growing segment playlist.
 */
export async function loadRenditionPlaylist(
  store: ObjectStore,
  prefix: string,
  rendition: RenditionInfo,
): Promise<LoadedPlaylist> {
  const byteRange = await readText(store, recordingKeys.byteRangePlaylist(prefix, rendition.name));
  if (byteRange !== null) return { rendition, playlist: parseMediaPlaylist(byteRange), byteRange: true };
  const segments = await readText(store, recordingKeys.renditionPlaylist(prefix, rendition.name));
  if (segments === null)
    throw new RecordingNotReadyError('coverage', `rendition ${rendition.name} of ${prefix} has no playlist yet`, 2_000);
  return { rendition, playlist: parseMediaPlaylist(segments), byteRange: false };
}

/**
 * Fetches the planned ranges (in parallel: a clip needs a few segments, and each GET costs a
 * round trip) and writes them, in order, into one MPEG-TS file. A range from the middle of a
 * segment that does not begin with the program tables gets the segment's PAT and PMT in front,
 * so ffmpeg can demux it.
 */
export async function assembleInput(
  store: ObjectStore,
  prefix: string,
  rendition: string,
  ranges: FetchRange[],
  path: string,
  signal?: AbortSignal,
): Promise<number> {
  const pieces = await Promise.all(
    ranges.map(async (range) => {
      const key = recordingKeys.media(prefix, rendition, range.uri);
      const data = await readRange(store, key, range.range);
      if (range.range && data.length !== range.range.end - range.range.start + 1) {
        throw new CorruptRecordingError(
          `${key} is shorter than its byte range ${range.range.start}-${range.range.end} (got ${data.length} bytes)`,
        );
      }
      if (data.length < TS_PACKET_SIZE || data[0] !== 0x47) throw new CorruptRecordingError(`${key} is not MPEG-TS`);
      if (range.range && range.range.start > 0 && !startsWithProgramAssociation(data)) {
        const head = await readRange(store, key, { start: 0, end: 40 * TS_PACKET_SIZE - 1 });
        return [programTablePackets(head), data];
      }
      return [data];
    }),
  );
  signal?.throwIfAborted();
  const file = await open(path, 'w');
  let bytes = 0;
  try {
    for (const buffer of pieces.flat()) {
      await file.write(buffer);
      bytes += buffer.length;
    }
  } finally {
    await file.close();
  }
  return bytes;
}

async function readRange(store: ObjectStore, key: string, range?: { start: number; end: number }): Promise<Buffer> {
  if (!range) return store.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of await store.getStream(key, range)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
