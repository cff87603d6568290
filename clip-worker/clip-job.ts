import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { channelArn } from '../core/ivs/recording-layout.ts';
import type { Logger } from '../core/logger.ts';
import type { ObjectStore } from '../core/object-store/object-store.ts';
import type { ClipEvent } from '../core/schemas/highlight.ts';
import {
  ClipVerificationError,
  CorruptRecordingError,
  NoRecordingError,
  RecordingNotReadyError,
  WindowOutsideRecordingError,
  classifyFailure,
} from './clip-errors.ts';
import { decideCut, fetchRanges, selectSource, type ClipWindow, type Cut, type SourceSelection } from './clip-plan.ts';
import type { ClipProfile } from '../core/clips/clip-profile.ts';
import {
  clipKeys,
  OUTPUT_FILES,
  readManifest,
  type ClipJobRecord,
  type ClipManifest,
  type ClipStatus,
  type OutputDescription,
  type OutputName,
} from '../core/clips/clip-records.ts';
import {
  landscapeClipInvocation,
  loudnessFilter,
  loudnessGainDb,
  loudnessMeasureInvocation,
  parseEbur128Summary,
  posterInvocation,
  spriteLayout,
  spriteVtt,
  verticalAndSpriteInvocation,
  type AudioPlan,
} from './ffmpeg/commands.ts';
import type { Ffmpeg, MediaProbe } from './ffmpeg/ffmpeg.ts';
import type { FfmpegProgress } from './ffmpeg/progress.ts';
import { assembleInput, loadRenditionPlaylist, recordingRenditions, sourceRendition } from './recording-source.ts';
import { chooseRecording, type RecordingCandidate, type RecordingLocator } from '../core/ivs/recording-index.ts';
import { mediaProblems } from './verify-clip.ts';

/**
 * One clip job, start to finish: find the recording, wait (bounded) while it is still being
 * written, fetch the covering bytes, cut, verify, upload, commit. It runs in two phases, each
 * committed by rewriting the manifest after its outputs are uploaded:
 *
 *   fast: the landscape clip by stream copy from a keyframe (or re-encoded when no keyframe is
 *         close enough) with normalised audio, and a poster  → manifest (complete: false), `created`
 *   full: the vertical 9:16 re-encode and the sprite sheet  → manifest (complete: true), `updated`
 *
 * A job that is redone (redelivery, a crash, a preemption) reads the manifest first: a finished
 * clip is only announced again, and a clip whose fast phase is committed resumes at the full one.
 * Outputs live under keys derived from the clip id, so a redo overwrites identical bytes.
 */
export interface ClipJobDependencies {
  objectStore: ObjectStore;
  ffmpeg: Ffmpeg;
  locator: RecordingLocator;
  profile: ClipProfile;
  profileVersion: string;
  publishClipEvent: (event: ClipEvent) => Promise<void>;
  /** Marks the moment in the live stream (IVS timed metadata); best effort. */
  markLiveMoment?: (channelArn: string, marker: Record<string, unknown>) => void;
  ivsRegion: string;
  /** Temporary directories for jobs are made here. */
  workDirectory: string;
  /** How long a job waits in its slot for a live playlist to reach the window's end before deferring. */
  liveWaitMs: number;
  livePollMs: number;
  /** How long after the window's end the recording may still appear (EventBridge can be late). */
  recordingGraceMs: number;
  logger: Logger;
  now?: () => number;
}

export interface JobReporter {
  status(update: Omit<Partial<ClipStatus>, 'clip_id' | 'stream_id' | 'updated_at'>): void;
  progress(phase: 'fast' | 'full', progress: FfmpegProgress): void;
}

export type ClipJobResult = { kind: 'completed' | 'already-complete'; manifest: ClipManifest };

const CONTENT_TYPES: Record<OutputName, string> = {
  mp4: 'video/mp4',
  thumbnail: 'image/jpeg',
  vertical: 'video/mp4',
  sprite: 'image/jpeg',
  sprite_vtt: 'text/vtt',
};

export function clipEventFromManifest(manifest: ClipManifest, finishedAt: number): ClipEvent {
  const outputs: Record<string, string> = Object.fromEntries(
    Object.entries(manifest.outputs).map(([name, output]) => [name, output.key]),
  );
  outputs.manifest = clipKeys.manifest(manifest.clip_id);
  const event: ClipEvent = {
    schema_v: 1,
    clip_id: manifest.clip_id,
    highlight_id: manifest.highlight_id,
    stream_id: manifest.stream_id,
    status: manifest.complete ? 'updated' : 'created',
    start: manifest.covered.start,
    end: manifest.covered.end,
    outputs,
    duration_ms: manifest.covered.end - manifest.covered.start,
    finished_at: finishedAt,
  };
  const failed = Object.entries(manifest.failed_outputs ?? {});
  if (failed.length > 0)
    event.reason = failed
      .map(([name, why]) => `${name}: ${why}`)
      .join('; ')
      .slice(0, 1024);
  return event;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Wall time of each step of a phase, for the log line that closes it. */
class StepTimes {
  private readonly started = performance.now();
  readonly ms: Record<string, number> = {};

  async time<T>(step: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.ms[step] = Math.round(performance.now() - started);
    }
  }

  total(): number {
    return Math.round(performance.now() - this.started);
  }
}

export class ClipJob {
  private readonly now: () => number;
  private readonly id: string;
  private readonly window: ClipWindow;

  constructor(
    private readonly record: ClipJobRecord,
    private readonly deps: ClipJobDependencies,
    private readonly reporter: JobReporter,
    private readonly signal: AbortSignal,
  ) {
    this.now = deps.now ?? Date.now;
    this.id = record.clip_id;
    this.window = { startMs: record.highlight.start, endMs: record.highlight.end };
  }

  async run(): Promise<ClipJobResult> {
    const { deps } = this;
    const existing = await readManifest(deps.objectStore, this.id, deps.logger);
    if (existing?.complete) {
      // Finished before, but its job record survived (a crash after the commit): announce it again.
      await deps.publishClipEvent(clipEventFromManifest(existing, this.now()));
      return { kind: 'already-complete', manifest: existing };
    }

    this.reporter.status({ state: 'running', phase: 'resolving' });
    const recording = await this.resolveRecording();
    const rendition = sourceRendition(await recordingRenditions(deps.objectStore, recording.prefix));
    const { selection, byteRange } = await this.waitForCoverage(recording, rendition);

    const directory = await mkdtemp(join(deps.workDirectory, `livepulse-clip-${this.id}-`));
    try {
      this.reporter.status({ phase: 'fetching' });
      const times = new StepTimes();
      const input = join(directory, 'input.ts');
      const posterPath = join(directory, OUTPUT_FILES.thumbnail);
      await times.time('fetch', () =>
        assembleInput(
          deps.objectStore,
          recording.prefix,
          rendition.name,
          fetchRanges(selection.pieces),
          input,
          this.signal,
        ),
      );
      const probe = await times.time('probe', () => deps.ffmpeg.probe(input, this.signal));
      const video = probe.streams.find((s) => s.codecType === 'video');
      if (!video?.width || !video.height)
        throw new CorruptRecordingError(`rendition ${rendition.name} has no readable video stream`);
      const inputStartMs = selection.pieces[0]!.programDateTimeMs;
      const exactOffsetMs = Math.max(0, selection.window.startMs - inputStartMs);
      const exactDurationMs = selection.window.endMs - selection.window.startMs;
      const hasAudio = probe.streams.some((s) => s.codecType === 'audio');
      // These need only the input, so they run together: ffmpeg processes are cheap to overlap, the clock is not.
      const [keyframes, loudness] = await Promise.all([
        times.time('keyframes', () => deps.ffmpeg.keyframes(input, this.signal)),
        hasAudio
          ? (existing?.loudness ??
            times.time('loudness', () => this.measureLoudness(input, exactOffsetMs, exactDurationMs)))
          : undefined,
        existing
          ? undefined
          : times.time('poster', () => this.makePoster(input, posterPath, exactOffsetMs + exactDurationMs / 2)),
      ]);
      const cut = decideCut({
        inputStartMs,
        keyframeOffsetsMs: keyframes.map((k) => k.ptsMs - probe.startTimeMs),
        window: selection.window,
        maxEarlyStartMs: deps.profile.maxCopyEarlyStartMs,
      });
      const audio: AudioPlan = {
        present: hasAudio,
        filter: loudnessFilter(loudness?.gain_db ?? null),
        bitrateKbps: deps.profile.audioBitrateKbps,
      };

      let manifest = existing;
      if (!manifest) {
        manifest = await this.fastPhase({
          directory,
          input,
          posterPath,
          cut,
          audio,
          loudness,
          selection,
          recording,
          renditionName: rendition.name,
          byteRange,
          inputStartMs,
          times,
        });
        await deps.publishClipEvent(clipEventFromManifest(manifest, this.now()));
        this.reporter.status({ state: 'created', phase: 'full', progress: 0 });
        deps.markLiveMoment?.(
          channelArn({ region: deps.ivsRegion, accountId: recording.accountId, channelId: recording.channelId }),
          {
            type: 'livepulse.clip',
            clip_id: this.id,
            start: manifest.covered.start,
            end: manifest.covered.end,
          },
        );
      } else {
        // The fast phase was committed by an earlier attempt; its event may not have gone out.
        await deps.publishClipEvent(clipEventFromManifest(manifest, this.now()));
      }

      manifest = await this.fullPhase({
        directory,
        input,
        audio,
        manifest,
        sourceWidth: video.width,
        sourceHeight: video.height,
        exactOffsetMs,
        exactDurationMs,
      });
      await deps.publishClipEvent(clipEventFromManifest(manifest, this.now()));
      return { kind: 'completed', manifest };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }

  private async resolveRecording(): Promise<RecordingCandidate> {
    const { deps } = this;
    const recording = chooseRecording(await deps.locator.recordingsOf(this.record.highlight.stream_id), this.window);
    if (recording) return recording;
    if (this.now() < this.window.endMs + deps.recordingGraceMs) {
      throw new RecordingNotReadyError(
        'recording',
        `no recording of stream ${this.record.highlight.stream_id} is indexed yet`,
        10_000,
      );
    }
    throw new NoRecordingError(this.record.highlight.stream_id);
  }

  /** Polls the rendition's playlist until it covers the window, up to the live wait; then defers. */
  private async waitForCoverage(
    recording: RecordingCandidate,
    rendition: { name: string; width: number; height: number },
  ): Promise<{ selection: Extract<SourceSelection, { kind: 'covered' }>; byteRange: boolean }> {
    const { deps } = this;
    const deadline = this.now() + deps.liveWaitMs;
    for (;;) {
      const loaded = await loadRenditionPlaylist(deps.objectStore, recording.prefix, rendition).catch(
        (error: unknown) => {
          // A recording that has just started may not have written its first segment yet.
          if (error instanceof RecordingNotReadyError) return null;
          throw error;
        },
      );
      const selection: SourceSelection = loaded
        ? selectSource(loaded.playlist, this.window, { minDurationMs: deps.profile.minDurationMs })
        : { kind: 'pending', recordedUntilMs: null, missingMs: this.window.endMs - this.window.startMs };
      if (selection.kind === 'covered') return { selection, byteRange: loaded!.byteRange };
      if (selection.kind === 'outside') throw new WindowOutsideRecordingError(recording.prefix, selection.reason);
      const stalledFor = this.now() - this.window.endMs;
      if (stalledFor > deps.recordingGraceMs) {
        throw new WindowOutsideRecordingError(
          recording.prefix,
          `the recording stopped ${Math.round(stalledFor / 1000)} s ago before reaching the window's end`,
        );
      }
      this.reporter.status({ state: 'waiting', phase: 'waiting_for_recording' });
      if (this.now() + deps.livePollMs > deadline) {
        throw new RecordingNotReadyError(
          'coverage',
          `the live recording is ${selection.missingMs} ms short of the window's end`,
          Math.max(deps.livePollMs, Math.min(selection.missingMs, 30_000)),
        );
      }
      await sleep(deps.livePollMs, this.signal);
    }
  }

  private async measureLoudness(
    input: string,
    offsetMs: number,
    durationMs: number,
  ): Promise<NonNullable<ClipManifest['loudness']>> {
    const { deps } = this;
    const run = await deps.ffmpeg.run(loudnessMeasureInvocation(input, { offsetMs, durationMs }), {
      signal: this.signal,
    });
    const measured = parseEbur128Summary(run.stderr);
    const gain = loudnessGainDb(deps.profile.loudness, measured);
    return {
      measured_lufs: Number.isFinite(measured.integratedLufs) ? measured.integratedLufs : -99,
      measured_true_peak_db: Number.isFinite(measured.truePeakDb) ? measured.truePeakDb : -99,
      gain_db: gain ?? 0,
      target_lufs: deps.profile.loudness.integratedLufs,
    };
  }

  /** ffprobe's view of an output against the plan, then a decode (see Ffmpeg.decodeCheck for the depths). */
  private async verified(
    path: string,
    name: OutputName,
    expectation: Parameters<typeof mediaProblems>[1],
    decode: 'full' | 'sampled' | 'none',
  ): Promise<MediaProbe> {
    const probe = await this.deps.ffmpeg.probe(path, this.signal);
    const problems = mediaProblems(probe, expectation);
    if (problems.length > 0) throw new ClipVerificationError(OUTPUT_FILES[name], problems);
    if (decode !== 'none') {
      try {
        await this.deps.ffmpeg.decodeCheck(path, this.signal, decode);
      } catch (error) {
        if (classifyFailure(error) === 'preempted') throw error;
        throw new ClipVerificationError(OUTPUT_FILES[name], [error instanceof Error ? error.message : String(error)]);
      }
    }
    return probe;
  }

  private async upload(path: string, name: OutputName, probe?: MediaProbe): Promise<OutputDescription> {
    const key = clipKeys.output(this.id, name);
    await this.deps.objectStore.put(key, createReadStream(path), { contentType: CONTENT_TYPES[name] });
    const description: OutputDescription = { key, content_type: CONTENT_TYPES[name], bytes: (await stat(path)).size };
    const video = probe?.streams.find((s) => s.codecType === 'video');
    if (probe && name !== 'thumbnail' && name !== 'sprite')
      description.duration_ms = Math.round(video?.durationMs ?? probe.durationMs);
    if (video?.width) description.width = video.width;
    if (video?.height) description.height = video.height;
    return description;
  }

  private async makePoster(input: string, output: string, offsetMs: number): Promise<void> {
    await this.deps.ffmpeg.run(posterInvocation({ input, output, offsetMs, width: this.deps.profile.posterWidth }), {
      signal: this.signal,
    });
  }

  private async fastPhase(options: {
    directory: string;
    input: string;
    posterPath: string;
    cut: Cut;
    audio: AudioPlan;
    loudness: ClipManifest['loudness'];
    selection: Extract<SourceSelection, { kind: 'covered' }>;
    recording: RecordingCandidate;
    renditionName: string;
    byteRange: boolean;
    inputStartMs: number;
    times: StepTimes;
  }): Promise<ClipManifest> {
    const { deps } = this;
    const {
      directory,
      input,
      posterPath,
      cut,
      audio,
      loudness,
      selection,
      recording,
      renditionName,
      byteRange,
      inputStartMs,
      times,
    } = options;
    this.reporter.status({ phase: 'fast', progress: 0 });
    const clipPath = join(directory, OUTPUT_FILES.mp4);
    const gopFrames = 60;
    await times.time('encode', () =>
      deps.ffmpeg.run(
        landscapeClipInvocation({
          input,
          output: clipPath,
          cut,
          audio,
          reencode: { ...deps.profile.landscape, gopFrames },
        }),
        {
          signal: this.signal,
          onProgress: (p) => this.reporter.progress('fast', p),
        },
      ),
    );
    const [clipProbe] = await times.time('verify', () =>
      Promise.all([
        // Sampled: the fast clip's budget is seconds, and a full decode of it alone takes about one.
        this.verified(
          clipPath,
          'mp4',
          {
            durationMs: cut.durationMs,
            toleranceMs: deps.profile.durationToleranceMs,
            video: true,
            audio: audio.present,
          },
          'sampled',
        ),
        this.verified(
          posterPath,
          'thumbnail',
          { toleranceMs: 0, video: true, audio: false, width: deps.profile.posterWidth },
          'none',
        ),
      ]),
    );
    const [mp4, thumbnail] = await times.time('upload', () =>
      Promise.all([this.upload(clipPath, 'mp4', clipProbe), this.upload(posterPath, 'thumbnail')]),
    );
    const now = this.now();
    const manifest: ClipManifest = {
      schema_v: 1,
      clip_id: this.id,
      highlight_id: this.record.highlight.highlight_id,
      stream_id: this.record.highlight.stream_id,
      profile_version: deps.profileVersion,
      requested: { start: this.window.startMs, end: this.window.endMs },
      covered: { start: Math.round(inputStartMs + cut.offsetMs), end: selection.window.endMs },
      recording: { prefix: recording.prefix, rendition: renditionName, byte_range_playlist: byteRange },
      cut: { mode: cut.mode, early_start_ms: cut.mode === 'copy' ? Math.round(cut.earlyByMs) : 0 },
      outputs: { mp4, thumbnail },
      complete: false,
      created_at: now,
      updated_at: now,
    };
    if (loudness) manifest.loudness = loudness;
    await times.time('commit', () => this.writeManifest(manifest));
    deps.logger.info(
      { clipId: this.id, phase: 'fast', cut: cut.mode, ms: times.ms, totalMs: times.total() },
      'clip phase committed',
    );
    return manifest;
  }

  private async fullPhase(options: {
    directory: string;
    input: string;
    audio: AudioPlan;
    manifest: ClipManifest;
    sourceWidth: number;
    sourceHeight: number;
    exactOffsetMs: number;
    exactDurationMs: number;
  }): Promise<ClipManifest> {
    const { deps } = this;
    const { directory, input, audio, manifest, sourceWidth, sourceHeight, exactOffsetMs, exactDurationMs } = options;
    this.reporter.status({ phase: 'full', progress: 0 });
    const verticalPath = join(directory, OUTPUT_FILES.vertical);
    const spritePath = join(directory, OUTPUT_FILES.sprite);
    const vttPath = join(directory, OUTPUT_FILES.sprite_vtt);
    const layout = spriteLayout(exactDurationMs, sourceWidth, sourceHeight, deps.profile.sprite);
    const outputs = { ...manifest.outputs };
    const failed: Record<string, string> = {};
    const times = new StepTimes();
    try {
      await times.time('encode', () =>
        deps.ffmpeg.run(
          verticalAndSpriteInvocation({
            input,
            verticalOutput: verticalPath,
            spriteOutput: spritePath,
            offsetMs: exactOffsetMs,
            durationMs: exactDurationMs,
            audio,
            vertical: deps.profile.vertical,
            sprite: deps.profile.sprite,
            layout,
          }),
          { signal: this.signal, onProgress: (p) => this.reporter.progress('full', p) },
        ),
      );
      const { width, height } = deps.profile.vertical;
      const [verticalProbe] = await times.time('verify', () =>
        Promise.all([
          this.verified(
            verticalPath,
            'vertical',
            {
              durationMs: exactDurationMs,
              toleranceMs: deps.profile.durationToleranceMs,
              video: true,
              audio: audio.present,
              width,
              height,
            },
            'full',
          ),
          this.verified(
            spritePath,
            'sprite',
            {
              toleranceMs: 0,
              video: true,
              audio: false,
              width: layout.columns * layout.tileWidth,
              height: layout.rows * layout.tileHeight,
            },
            'none',
          ),
        ]),
      );
      await writeFile(vttPath, spriteVtt(OUTPUT_FILES.sprite, layout, exactDurationMs, deps.profile.sprite.intervalMs));
      const [vertical, sprite, spriteTrack] = await times.time('upload', () =>
        Promise.all([
          this.upload(verticalPath, 'vertical', verticalProbe),
          this.upload(spritePath, 'sprite'),
          this.upload(vttPath, 'sprite_vtt'),
        ]),
      );
      Object.assign(outputs, { vertical, sprite, sprite_vtt: spriteTrack });
    } catch (error) {
      // The clip exists already; outputs that cannot ever be made are recorded, not retried.
      if (classifyFailure(error) !== 'permanent') throw error;
      const reason = error instanceof Error ? error.message : String(error);
      for (const name of ['vertical', 'sprite', 'sprite_vtt']) failed[name] = reason.slice(0, 1024);
      deps.logger.warn(
        { clipId: this.id, err: error },
        'vertical version and sprite could not be made; the clip stands without them',
      );
    }
    const complete: ClipManifest = { ...manifest, outputs, complete: true, updated_at: this.now() };
    if (Object.keys(failed).length > 0) complete.failed_outputs = failed;
    await times.time('commit', () => this.writeManifest(complete));
    deps.logger.info({ clipId: this.id, phase: 'full', ms: times.ms, totalMs: times.total() }, 'clip phase committed');
    return complete;
  }

  private async writeManifest(manifest: ClipManifest): Promise<void> {
    this.signal.throwIfAborted();
    await this.deps.objectStore.put(clipKeys.manifest(this.id), `${JSON.stringify(manifest, null, 2)}\n`, {
      contentType: 'application/json',
    });
  }
}
