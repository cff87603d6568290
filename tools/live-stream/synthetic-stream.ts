import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  serializeMediaPlaylist,
  serializeMultivariantPlaylist,
  parseMediaPlaylist,
  type MediaSegment,
} from '../../core/ivs/hls-playlist.ts';
import { pmtPidsOfSegment, rangeStartBeforeKeyframe } from '../../core/ivs/mpegts.ts';
import type { RecordingMetadata } from '../../core/ivs/recording-metadata.ts';
import { channelArn, recordingKeys, recordingPrefix } from '../../core/ivs/recording-layout.ts';
import type { ObjectStore } from '../../core/object-store/object-store.ts';
import { FfmpegAbortedError, type Ffmpeg } from '../../clip-worker/ffmpeg/ffmpeg.ts';

/**
 * A synthetic live broadcast recorded the way IVS auto-record writes to S3: ffmpeg encodes a
 * test pattern and a tone into several renditions of HLS (`.ts` segments starting on
 * keyframes), and this module publishes them into the object store under the IVS layout while
 * they are produced: each new segment first, then the rendition's growing EVENT playlist with a
 * `#EXT-X-PROGRAM-DATE-TIME` per segment. When the broadcast ends it writes what IVS writes at
 * the end: `#EXT-X-ENDLIST`, keyframe-aligned byte-range playlists, and
 * `events/recording-ended.json`.
 */
export interface SyntheticRendition {
  /** IVS names renditions `<height>p<fps>`, e.g. `720p30`. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
}

export const DEMO_RENDITIONS: SyntheticRendition[] = [
  { name: '720p30', width: 1280, height: 720, videoKbps: 2_500 },
  { name: '360p30', width: 640, height: 360, videoKbps: 700 },
];

export interface SyntheticBroadcast {
  region: string;
  accountId: string;
  channelId: string;
  channelArn: string;
  streamId: string;
  recordingId: string;
  prefix: string;
  startedAt: Date;
}

export type SyntheticStreamEvent =
  | { kind: 'recording_start'; broadcast: SyntheticBroadcast }
  | { kind: 'segment'; broadcast: SyntheticBroadcast; rendition: string; segment: MediaSegment }
  | { kind: 'recording_end'; broadcast: SyntheticBroadcast; durationMs: number; endedAt: Date };

export interface SyntheticStreamOptions {
  objectStore: ObjectStore;
  ffmpeg: Ffmpeg;
  region?: string;
  accountId: string;
  channelId: string;
  streamId?: string;
  recordingId?: string;
  /** When the broadcast starts (the first segment's program date-time); defaults to now. */
  startedAt?: Date;
  durationSeconds: number;
  renditions?: SyntheticRendition[];
  segmentSeconds?: number;
  fps?: number;
  /** Paced at realtime like a broadcaster (default); false encodes as fast as the machine can. */
  realtime?: boolean;
  pollIntervalMs?: number;
  /** Aborting ends the broadcast early; what was recorded is finalised as IVS would. */
  signal?: AbortSignal;
  onEvent?: (event: SyntheticStreamEvent) => void | Promise<void>;
}

export interface SyntheticRecording extends SyntheticBroadcast {
  endedAt: Date;
  durationMs: number;
  renditions: string[];
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function ivsStyleId(length = 12): string {
  return Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
}

const AUDIO_KBPS = 96;

export function syntheticEncodeInvocation(options: {
  directory: string;
  renditions: SyntheticRendition[];
  durationSeconds: number;
  segmentSeconds: number;
  fps: number;
  realtime: boolean;
}) {
  const { directory, renditions, durationSeconds, segmentSeconds, fps, realtime } = options;
  const largest = renditions.reduce((a, b) => (b.height > a.height ? b : a));
  const pace = realtime ? ['-re'] : [];
  const splits = renditions.map((_, i) => `[s${i}]`).join('');
  const scales = renditions.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`).join(';');
  const videoOptions = renditions.flatMap((r, i) => [
    `-b:v:${i}`,
    `${r.videoKbps}k`,
    `-maxrate:v:${i}`,
    `${Math.round(r.videoKbps * 1.2)}k`,
    `-bufsize:v:${i}`,
    `${r.videoKbps * 2}k`,
  ]);
  return {
    label: 'synthetic broadcast',
    inputs: [
      { path: `testsrc2=size=${largest.width}x${largest.height}:rate=${fps}`, options: [...pace, '-f', 'lavfi'] },
      // A 440 Hz tone with a beep every second: audible, and its loudness varies like speech does.
      { path: 'sine=frequency=440:sample_rate=48000:beep_factor=4', options: [...pace, '-f', 'lavfi'] },
    ],
    complexFilter: `[0:v]split=${renditions.length}${splits};${scales}`,
    outputs: [
      {
        path: join(directory, '%v', 'playlist.m3u8'),
        options: [
          '-t',
          String(durationSeconds),
          ...renditions.flatMap((_, i) => ['-map', `[v${i}]`]),
          ...renditions.flatMap(() => ['-map', '1:a']),
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-profile:v',
          'main',
          '-pix_fmt',
          'yuv420p',
          // One-second GOPs (as IVS's byte-range playlists assume) and segments cut on them.
          '-g',
          String(fps),
          '-keyint_min',
          String(fps),
          '-sc_threshold',
          '0',
          ...videoOptions,
          '-c:a',
          'aac',
          '-b:a',
          `${AUDIO_KBPS}k`,
          '-ar',
          '48000',
          '-ac',
          '2',
          '-f',
          'hls',
          '-hls_time',
          String(segmentSeconds),
          '-hls_playlist_type',
          'event',
          '-hls_flags',
          'temp_file+independent_segments',
          '-hls_segment_filename',
          join(directory, '%v', '%d.ts'),
          '-var_stream_map',
          renditions.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(' '),
        ],
      },
    ],
    expectedDurationMs: durationSeconds * 1000,
  };
}

export type StampedSegment = MediaSegment & { programDateTimeMs: number };

/** Program date-times from the start time and the durations, as one continuous broadcast. */
export function withProgramDateTimes(segments: MediaSegment[], startedAtMs: number): StampedSegment[] {
  let at = startedAtMs;
  return segments.map((segment) => {
    const stamped = { ...segment, programDateTimeMs: at };
    at += segment.durationMs;
    return stamped;
  });
}

/**
 * IVS's byte-range variant for one segment: a sub-range per keyframe, each starting at the
 * program tables just before its keyframe, with its own program date-time.
 */
export function byteRangeSubSegments(
  segment: StampedSegment,
  segmentBytes: number,
  keyframes: Array<{ ptsMs: number; rangeStart: number }>,
): MediaSegment[] {
  if (keyframes.length === 0) return [{ ...segment, byteRange: { offset: 0, length: segmentBytes } }];
  const firstPts = keyframes[0]!.ptsMs;
  return keyframes.map((keyframe, index) => {
    const offset = index === 0 ? 0 : keyframe.rangeStart;
    const end = index + 1 < keyframes.length ? keyframes[index + 1]!.rangeStart : segmentBytes;
    const startsAtMs = Math.round(keyframe.ptsMs - firstPts);
    const endsAtMs =
      index + 1 < keyframes.length ? Math.round(keyframes[index + 1]!.ptsMs - firstPts) : segment.durationMs;
    return {
      uri: segment.uri,
      durationMs: Math.max(0, endsAtMs - startsAtMs),
      programDateTimeMs: segment.programDateTimeMs + startsAtMs,
      byteRange: { offset, length: end - offset },
      discontinuity: false,
    };
  });
}

function recordingMetadata(
  broadcast: SyntheticBroadcast,
  renditions: SyntheticRendition[],
  ended?: { endedAt: Date; durationMs: number },
): RecordingMetadata {
  return {
    version: 'v1',
    recording_started_at: broadcast.startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(ended ? { recording_ended_at: ended.endedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    channel_arn: broadcast.channelArn,
    recording_status: ended ? 'RECORDING_ENDED' : 'RECORDING_STARTED',
    media: {
      hls: {
        ...(ended ? { duration_ms: ended.durationMs } : {}),
        path: 'media/hls',
        playlist: 'master.m3u8',
        byte_range_playlist: 'byte-range-multivariant.m3u8',
        renditions: renditions.map((r) => ({
          path: r.name,
          playlist: 'playlist.m3u8',
          byte_range_playlist: 'byte-range-variant.m3u8',
          resolution_width: r.width,
          resolution_height: r.height,
        })),
      },
      thumbnails: { path: 'media/thumbnails' },
    },
  };
}

function ivsHeaderTags(segments: MediaSegment[], elapsedMs = 0): string[] {
  const totalMs = segments.reduce((sum, s) => sum + s.durationMs, 0);
  return [
    `#ID3-EQUIV-TDTG:${new Date().toISOString().slice(0, 19)}`,
    `#EXT-X-TWITCH-ELAPSED-SECS:${(elapsedMs / 1000).toFixed(3)}`,
    `#EXT-X-TWITCH-TOTAL-SECS:${(totalMs / 1000).toFixed(3)}`,
  ];
}

export async function runSyntheticStream(options: SyntheticStreamOptions): Promise<SyntheticRecording> {
  const {
    objectStore,
    ffmpeg,
    renditions = DEMO_RENDITIONS,
    segmentSeconds = 4,
    fps = 30,
    realtime = true,
    pollIntervalMs = 250,
    signal,
    onEvent,
  } = options;
  if (renditions.length === 0) throw new RangeError('a synthetic stream needs at least one rendition');
  const region = options.region ?? 'us-east-1';
  const startedAt = options.startedAt ?? new Date();
  const broadcast: SyntheticBroadcast = {
    region,
    accountId: options.accountId,
    channelId: options.channelId,
    channelArn: channelArn({ region, accountId: options.accountId, channelId: options.channelId }),
    streamId: options.streamId ?? `st-${ivsStyleId()}`,
    recordingId: options.recordingId ?? ivsStyleId(),
    prefix: '',
    startedAt,
  };
  broadcast.prefix = recordingPrefix(broadcast);
  const { prefix } = broadcast;
  const directory = await mkdtemp(join(tmpdir(), 'livepulse-broadcast-'));
  const published = new Map<string, StampedSegment[]>(renditions.map((r) => [r.name, []]));

  const publishNewSegments = async (final: boolean) => {
    for (const rendition of renditions) {
      let local: MediaSegment[];
      try {
        local = parseMediaPlaylist(await readFile(join(directory, rendition.name, 'playlist.m3u8'), 'utf8')).segments;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const done = published.get(rendition.name)!;
      if (local.length === done.length && !final) continue;
      const stamped = withProgramDateTimes(local, startedAt.getTime());
      for (const segment of stamped.slice(done.length)) {
        await objectStore.put(
          recordingKeys.media(prefix, rendition.name, segment.uri),
          await readFile(join(directory, rendition.name, segment.uri)),
          { contentType: 'video/mp2t' },
        );
        done.push(segment);
        await onEvent?.({ kind: 'segment', broadcast, rendition: rendition.name, segment });
      }
      await objectStore.put(
        recordingKeys.renditionPlaylist(prefix, rendition.name),
        serializeMediaPlaylist(
          {
            version: 3,
            targetDurationS: Math.ceil(Math.max(segmentSeconds, ...done.map((s) => s.durationMs / 1000))),
            mediaSequence: 0,
            playlistType: 'EVENT',
            endList: final,
            segments: done,
          },
          { headerTags: ivsHeaderTags(done) },
        ),
        { contentType: 'application/vnd.apple.mpegurl' },
      );
    }
  };

  try {
    await objectStore.put(
      recordingKeys.event(prefix, 'recording-started'),
      JSON.stringify(recordingMetadata(broadcast, renditions)),
      { contentType: 'application/json' },
    );
    await objectStore.put(
      recordingKeys.masterPlaylist(prefix),
      serializeMultivariantPlaylist({
        variants: renditions.map((r) => ({
          uri: `${r.name}/playlist.m3u8`,
          bandwidth: (r.videoKbps + AUDIO_KBPS) * 1000,
          resolution: { width: r.width, height: r.height },
          video: r.name,
        })),
      }),
      { contentType: 'application/vnd.apple.mpegurl' },
    );
    await onEvent?.({ kind: 'recording_start', broadcast });

    let encoding = true;
    const encoder = ffmpeg
      .run(
        syntheticEncodeInvocation({
          directory,
          renditions,
          durationSeconds: options.durationSeconds,
          segmentSeconds,
          fps,
          realtime,
        }),
        { signal },
      )
      .catch((error: unknown) => {
        // Ending the broadcast early is not a failure: what was recorded is finalised below.
        if (!(error instanceof FfmpegAbortedError)) throw error;
      })
      .finally(() => (encoding = false));
    while (encoding) {
      await publishNewSegments(false);
      await Promise.race([encoder, sleep(pollIntervalMs)]);
    }
    await encoder;
    await publishNewSegments(true);

    const endedAt = new Date();
    const top = renditions.reduce((a, b) => (b.height > a.height ? b : a));
    const durationMs = published.get(top.name)!.reduce((sum, s) => sum + s.durationMs, 0);
    for (const rendition of renditions) {
      const subSegments: MediaSegment[] = [];
      for (const segment of published.get(rendition.name)!) {
        const path = join(directory, rendition.name, segment.uri);
        const bytes = await readFile(path);
        const pmtPids = pmtPidsOfSegment(bytes);
        const keyframes = (await ffmpeg.keyframes(path)).map((k) => ({
          ptsMs: k.ptsMs,
          rangeStart: rangeStartBeforeKeyframe(bytes, k.pos, pmtPids),
        }));
        subSegments.push(...byteRangeSubSegments(segment, (await stat(path)).size, keyframes));
      }
      await objectStore.put(
        recordingKeys.byteRangePlaylist(prefix, rendition.name),
        serializeMediaPlaylist({
          version: 4,
          targetDurationS: Math.ceil(Math.max(1, ...subSegments.map((s) => s.durationMs / 1000))),
          mediaSequence: 0,
          playlistType: 'VOD',
          endList: true,
          segments: subSegments,
        }),
        { contentType: 'application/vnd.apple.mpegurl' },
      );
    }
    await objectStore.put(
      recordingKeys.byteRangeMasterPlaylist(prefix),
      serializeMultivariantPlaylist({
        variants: renditions.map((r) => ({
          uri: `${r.name}/byte-range-variant.m3u8`,
          bandwidth: (r.videoKbps + AUDIO_KBPS) * 1000,
          resolution: { width: r.width, height: r.height },
          video: r.name,
        })),
      }),
      { contentType: 'application/vnd.apple.mpegurl' },
    );
    await objectStore.put(
      recordingKeys.event(prefix, 'recording-ended'),
      JSON.stringify(recordingMetadata(broadcast, renditions, { endedAt, durationMs })),
      { contentType: 'application/json' },
    );
    await onEvent?.({ kind: 'recording_end', broadcast, durationMs, endedAt });
    return { ...broadcast, endedAt, durationMs, renditions: renditions.map((r) => r.name) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
