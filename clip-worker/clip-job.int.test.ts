import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingKeys } from '../core/ivs/recording-layout.ts';
import type { ClipEvent } from '../core/schemas/highlight.ts';
import { testServices } from '../test/services.ts';
import { ClipJob, type ClipJobDependencies, type JobReporter } from './clip-job.ts';
import {
  classifyFailure,
  NoRecordingError,
  RecordingNotReadyError,
  WindowOutsideRecordingError,
} from './clip-errors.ts';
import {
  clipId,
  clipKeys,
  OUTPUT_FILES,
  type ClipJobRecord,
  type ClipManifest,
  type OutputName,
} from '../core/clips/clip-records.ts';
import { FfmpegRunner, type MediaProbe } from './ffmpeg/ffmpeg.ts';
import { runSyntheticStream, type SyntheticRecording } from '../tools/live-stream/synthetic-stream.ts';
import {
  emptyStore,
  ObservedObjectStore,
  StaticRecordingLocator,
  TEST_ACCOUNT,
  TEST_CLIP_PROFILE,
  TEST_RENDITIONS,
  testJobDependencies,
  testS3Store,
} from './testing/clip-fixtures.ts';
import { mediaProblems } from './verify-clip.ts';

const ffmpeg = new FfmpegRunner();
const reporter: JobReporter = { status: () => undefined, progress: () => undefined };

/**
 * Clip jobs end to end on real pieces: ffmpeg, the S3-compatible server from infra/local, and
 * recordings written by the synthetic broadcast in IVS's layout.
 */
describe('clip jobs on IVS recordings in S3', () => {
  const s3 = testS3Store(testServices(), 'clip-job');
  const store = new ObservedObjectStore(s3);
  const locator = new StaticRecordingLocator();
  let recording: SyntheticRecording;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'livepulse-clip-test-'));
    // A 24 s broadcast, encoded as fast as possible, ended: it has the byte-range playlists.
    recording = await runSyntheticStream({
      objectStore: s3,
      ffmpeg,
      accountId: TEST_ACCOUNT,
      channelId: 'ClipJobTest',
      durationSeconds: 24,
      segmentSeconds: 4,
      renditions: TEST_RENDITIONS,
      realtime: false,
      startedAt: new Date(Date.now() - 120_000),
    });
    locator.add(recording);
  });

  afterAll(async () => {
    await emptyStore(s3);
    await s3.close();
    await rm(scratch, { recursive: true, force: true });
  });

  function job(startOffsetMs: number, endOffsetMs: number, streamId = recording.streamId): ClipJobRecord {
    const start = recording.startedAt.getTime() + startOffsetMs;
    const end = recording.startedAt.getTime() + endOffsetMs;
    const highlight = {
      schema_v: 1 as const,
      highlight_id: `hl_${startOffsetMs}_${endOffsetMs}`,
      stream_id: streamId,
      start,
      end,
      score: 4,
      reasons: ['test'],
      detected_at: end,
    };
    return {
      schema_v: 1,
      clip_id: clipId({ streamId, startMs: start, endMs: end, profileVersion: 'test' }),
      highlight,
      enqueued_at: end,
      attempts: 0,
      not_before: end,
    };
  }

  function deps(events: ClipEvent[], overrides: Partial<ClipJobDependencies> = {}): ClipJobDependencies {
    return testJobDependencies({
      objectStore: store,
      ffmpeg,
      locator,
      publishClipEvent: (event) => {
        events.push(event);
        return Promise.resolve();
      },
      workDirectory: scratch,
      ...overrides,
    });
  }

  async function run(record: ClipJobRecord, events: ClipEvent[], overrides: Partial<ClipJobDependencies> = {}) {
    return new ClipJob(record, deps(events, overrides), reporter, new AbortController().signal).run();
  }

  /** Downloads an output and probes it, as a player would get it. */
  async function probeOutput(id: string, name: OutputName): Promise<MediaProbe> {
    const path = join(scratch, `${id}-${OUTPUT_FILES[name]}`);
    await writeFile(path, await s3.get(clipKeys.output(id, name)));
    if (name === 'mp4' || name === 'vertical') await ffmpeg.decodeCheck(path);
    return ffmpeg.probe(path);
  }

  it('cuts a clip by stream copy and a vertical version, each verified with ffprobe, and commits with the manifest last', async () => {
    const events: ClipEvent[] = [];
    const record = job(6_300, 16_300);
    const writesBefore = store.writes.length;
    const result = await run(record, events);
    expect(result.kind).toBe('completed');
    const manifest = JSON.parse((await s3.get(clipKeys.manifest(record.clip_id))).toString()) as ClipManifest;

    // Byte-range playlist (the recording ended): copied from the keyframe at or before 6.3 s.
    expect(manifest).toMatchObject({
      complete: true,
      recording: { prefix: recording.prefix, rendition: '180p30', byte_range_playlist: true },
      cut: { mode: 'copy' },
    });
    expect(manifest.cut.early_start_ms).toBeLessThanOrEqual(1_000);
    expect(manifest.covered.end).toBe(record.highlight.end);
    expect(manifest.loudness!.gain_db).not.toBe(0);

    const clip = await probeOutput(record.clip_id, 'mp4');
    expect(
      mediaProblems(clip, {
        durationMs: manifest.covered.end - manifest.covered.start,
        toleranceMs: 300,
        video: true,
        audio: true,
        width: 320,
        height: 180,
      }),
    ).toEqual([]);
    const vertical = await probeOutput(record.clip_id, 'vertical');
    expect(
      mediaProblems(vertical, {
        durationMs: 10_000,
        toleranceMs: 100,
        video: true,
        audio: true,
        width: 180,
        height: 320,
      }),
    ).toEqual([]);
    expect((await probeOutput(record.clip_id, 'thumbnail')).streams[0]).toMatchObject({
      codecName: 'mjpeg',
      width: 320,
    });
    expect((await probeOutput(record.clip_id, 'sprite')).streams[0]).toMatchObject({
      codecName: 'mjpeg',
      width: 5 * 160,
      height: 90,
    });
    expect((await s3.get(clipKeys.output(record.clip_id, 'sprite_vtt'))).toString()).toMatch(
      /^WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite.jpg#xywh=0,0,160,90/,
    );

    // Every manifest write comes after the outputs it lists.
    const writes = store.writes.slice(writesBefore).map((w) => w.key.split('/').pop());
    const firstManifest = writes.indexOf('manifest.json');
    expect(writes.slice(0, firstManifest).sort()).toEqual(['clip.mp4', 'poster.jpg']);
    expect(writes.slice(firstManifest + 1, -1).sort()).toEqual(['sprite.jpg', 'sprite.vtt', 'vertical.mp4']);
    expect(writes.at(-1)).toBe('manifest.json');

    expect(events.map((e) => e.status)).toEqual(['created', 'updated']);
    expect(events[0]).toMatchObject({
      clip_id: record.clip_id,
      stream_id: recording.streamId,
      outputs: {
        mp4: clipKeys.output(record.clip_id, 'mp4'),
        thumbnail: clipKeys.output(record.clip_id, 'thumbnail'),
        manifest: clipKeys.manifest(record.clip_id),
      },
    });
    expect(Object.keys(events[1]!.outputs!).sort()).toEqual([
      'manifest',
      'mp4',
      'sprite',
      'sprite_vtt',
      'thumbnail',
      'vertical',
    ]);

    // Done again (a redelivery, a crash before the job record went): no new output, the clip announced again.
    const again: ClipEvent[] = [];
    const writesBeforeRedo = store.writes.length;
    expect((await run(record, again)).kind).toBe('already-complete');
    expect(store.writes.length).toBe(writesBeforeRedo);
    expect(again.map((e) => [e.clip_id, e.status])).toEqual([[record.clip_id, 'updated']]);
  });

  it('resumes a job whose fast phase was committed, making only the remaining outputs', async () => {
    const record = job(2_000, 9_000);
    await run(record, []);
    const manifest = JSON.parse((await s3.get(clipKeys.manifest(record.clip_id))).toString()) as ClipManifest;
    const { vertical: _vertical, sprite: _sprite, sprite_vtt: _vtt, ...fast } = manifest.outputs;
    await s3.put(clipKeys.manifest(record.clip_id), JSON.stringify({ ...manifest, outputs: fast, complete: false }));
    const events: ClipEvent[] = [];
    const writesBefore = store.writes.length;
    expect((await run(record, events)).kind).toBe('completed');
    expect(
      store.writes
        .slice(writesBefore)
        .map((w) => w.key.split('/').pop())
        .sort(),
    ).toEqual(['manifest.json', 'sprite.jpg', 'sprite.vtt', 'vertical.mp4']);
    expect(events.map((e) => e.status)).toEqual(['created', 'updated']);
  });

  it('re-encodes the landscape clip when the keyframe before the start is too far', async () => {
    const record = job(4_600, 11_600);
    const events: ClipEvent[] = [];
    await run(record, events, { profile: { ...TEST_CLIP_PROFILE, maxCopyEarlyStartMs: 100 } });
    const manifest = JSON.parse((await s3.get(clipKeys.manifest(record.clip_id))).toString()) as ClipManifest;
    expect(manifest.cut).toEqual({ mode: 'reencode', early_start_ms: 0 });
    expect(manifest.covered).toEqual({ start: record.highlight.start, end: record.highlight.end });
    expect(
      mediaProblems(await probeOutput(record.clip_id, 'mp4'), {
        durationMs: 7_000,
        toleranceMs: 100,
        video: true,
        audio: true,
      }),
    ).toEqual([]);
  });

  it('clamps a window that runs past the end of an ended recording', async () => {
    const record = job(18_000, 40_000);
    await run(record, []);
    const manifest = JSON.parse((await s3.get(clipKeys.manifest(record.clip_id))).toString()) as ClipManifest;
    expect(manifest.covered.end).toBe(recording.startedAt.getTime() + recording.durationMs);
  });

  it('fails permanently, with a reason, for a window outside the recording or a stream without one', async () => {
    const outside = run(job(60_000, 80_000), []);
    await expect(outside).rejects.toBeInstanceOf(WindowOutsideRecordingError);
    await expect(outside).rejects.toThrow(/starts after the recording ended/);
    const unknown = job(1_000, 5_000, 'st-nobody');
    await expect(run(unknown, [], { recordingGraceMs: 1 })).rejects.toBeInstanceOf(NoRecordingError);
    await expect(run(unknown, [])).rejects.toBeInstanceOf(RecordingNotReadyError);
  });

  it('fails permanently on a corrupt segment', async () => {
    const broken = await runSyntheticStream({
      objectStore: s3,
      ffmpeg,
      accountId: TEST_ACCOUNT,
      channelId: 'Corrupt',
      durationSeconds: 8,
      segmentSeconds: 4,
      renditions: TEST_RENDITIONS.slice(0, 1),
      realtime: false,
      startedAt: new Date(Date.now() - 60_000),
    });
    locator.add(broken);
    // Segment 0 keeps its length (the byte ranges still fit) but is no longer MPEG-TS.
    const original = await s3.get(recordingKeys.media(broken.prefix, '180p30', '0.ts'));
    await s3.put(recordingKeys.media(broken.prefix, '180p30', '0.ts'), Buffer.alloc(original.length, 0x5a));
    const record = job(0, 0, broken.streamId);
    record.highlight.start = broken.startedAt.getTime() + 500;
    record.highlight.end = broken.startedAt.getTime() + 6_500;
    const failure = await run(record, []).catch((error: unknown) => error);
    expect(classifyFailure(failure)).toBe('permanent');
    expect(String(failure)).toMatch(/not MPEG-TS|Invalid data/);
  });

  it('waits for a live recording to reach the window end, then makes the clip', async () => {
    const startedAt = new Date();
    const liveStreamId = 'st-LiveClipTest';
    const live = runSyntheticStream({
      objectStore: s3,
      ffmpeg,
      accountId: TEST_ACCOUNT,
      channelId: 'LiveClip',
      streamId: liveStreamId,
      durationSeconds: 7,
      segmentSeconds: 2,
      renditions: TEST_RENDITIONS.slice(0, 1),
      realtime: true,
      startedAt,
    });
    const liveLocator = new StaticRecordingLocator();
    const prefixKnown = (async () => {
      // The recording's prefix is in its started event, as the recording-start event would give it.
      for (;;) {
        for await (const object of s3.list(`ivs/v1/${TEST_ACCOUNT}/LiveClip/`)) {
          if (object.key.endsWith('events/recording-started.json'))
            return object.key.replace(/\/events\/recording-started\.json$/, '');
        }
        await sleep(100);
      }
    })();
    const prefix = await prefixKnown;
    liveLocator.byStream.set(liveStreamId, [
      {
        prefix,
        channelId: 'LiveClip',
        accountId: TEST_ACCOUNT,
        bucket: '',
        startedAtMs: startedAt.getTime(),
        failed: false,
      },
    ]);
    const record = job(0, 0, liveStreamId);
    record.highlight.start = startedAt.getTime() + 1_000;
    record.highlight.end = startedAt.getTime() + 5_000;
    const events: ClipEvent[] = [];
    const statuses: string[] = [];
    const result = await new ClipJob(
      record,
      deps(events, { locator: liveLocator, livePollMs: 250 }),
      { status: (s) => s.state && statuses.push(s.state), progress: () => undefined },
      new AbortController().signal,
    ).run();
    expect(result.kind).toBe('completed');
    expect(statuses).toContain('waiting');
    const manifest = result.manifest;
    expect(manifest.recording.byte_range_playlist).toBe(false);
    expect(
      mediaProblems(await probeOutput(record.clip_id, 'vertical'), {
        durationMs: 4_000,
        toleranceMs: 100,
        video: true,
        audio: true,
      }),
    ).toEqual([]);
    await live;
  });

  it('yields its slot when the live recording does not catch up within the wait', async () => {
    const record = job(0, 0, recording.streamId);
    const liveLocator = new StaticRecordingLocator();
    const liveRecording = await runSyntheticStream({
      objectStore: s3,
      ffmpeg,
      accountId: TEST_ACCOUNT,
      channelId: 'Stalled',
      durationSeconds: 4,
      segmentSeconds: 2,
      renditions: TEST_RENDITIONS.slice(0, 1),
      realtime: false,
      startedAt: new Date(Date.now() - 10_000),
    });
    // Make it look live: the rendition playlist without its end, and no byte-range playlist.
    const playlistKey = recordingKeys.renditionPlaylist(liveRecording.prefix, '180p30');
    await s3.put(playlistKey, (await s3.get(playlistKey)).toString().replace('#EXT-X-ENDLIST\n', ''));
    await s3.delete(recordingKeys.byteRangePlaylist(liveRecording.prefix, '180p30'));
    liveLocator.add(liveRecording, false);
    record.highlight.stream_id = liveRecording.streamId;
    record.highlight.start = liveRecording.startedAt.getTime() + 1_000;
    record.highlight.end = Date.now() + 5_000;
    const failure = await run(record, [], { locator: liveLocator, liveWaitMs: 600, livePollMs: 200 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RecordingNotReadyError);
    expect(classifyFailure(failure)).toBe('deferred');
  });
});
