import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';
import { ProgressReader, type FfmpegProgress } from './progress.ts';

const execFileAsync = promisify(execFile);

/**
 * The clip worker's one door to ffmpeg and ffprobe. Argument lists are built by pure functions
 * (commands.ts); this adapter only runs them, reports progress, and kills the process when the
 * job is aborted. ffmpeg runs through `fluent-ffmpeg` (named by the design card; archived
 * upstream in 2025, so nothing else imports it and a spawn-based runner can replace it here);
 * ffprobe runs directly because we want its JSON as is.
 */
export interface FfmpegInvocation {
  /** Names the run in logs and errors, e.g. `clip.mp4`. */
  label: string;
  inputs: Array<{ path: string; options?: string[] }>;
  complexFilter?: string;
  outputs: Array<{ path: string; options: string[] }>;
  /** Media duration the run produces, for the progress ratio. */
  expectedDurationMs?: number;
  /** `info` when the run's purpose is what ffmpeg prints (loudnorm's measurement); default `error`. */
  logLevel?: 'error' | 'info';
}

export interface FfmpegRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: FfmpegProgress) => void;
}

export interface FfmpegRunResult {
  /** ffmpeg's last reported speed (media seconds per wall second). */
  speed?: number;
  wallMs: number;
  /** What ffmpeg printed besides progress, at most the last 500 lines. */
  stderr: string[];
}

export interface ProbedStream {
  index: number;
  codecType: 'video' | 'audio' | 'data' | 'subtitle' | 'attachment' | 'unknown';
  codecName?: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  durationMs?: number;
}

export interface MediaProbe {
  formatName: string;
  durationMs: number;
  /** First timestamp of the file (MPEG-TS starts around 1.4 s, MP4 at 0). */
  startTimeMs: number;
  streams: ProbedStream[];
}

export interface Keyframe {
  /** Presentation time in ms, on the file's own clock (not shifted by startTimeMs). */
  ptsMs: number;
  /** Byte offset of the packet in the file. */
  pos: number;
}

export interface Ffmpeg {
  run(invocation: FfmpegInvocation, options?: FfmpegRunOptions): Promise<FfmpegRunResult>;
  probe(path: string, signal?: AbortSignal): Promise<MediaProbe>;
  /** Keyframes of the first video stream, from packet flags (no decoding). */
  keyframes(path: string, signal?: AbortSignal): Promise<Keyframe[]>;
  /**
   * Decodes the file and throws MediaDecodeError on the first error. `full` decodes every frame;
   * `sampled` decodes all audio, every video keyframe and the first and last second of
   * video — what goes wrong in a stream copy (a start off a keyframe, missing parameter sets, a
   * cut-off end, a damaged container) at a fraction of the cost.
   */
  decodeCheck(path: string, signal?: AbortSignal, depth?: 'full' | 'sampled'): Promise<void>;
  /** ffmpeg's version line; throws FfmpegUnavailableError when ffmpeg or ffprobe cannot run. */
  version(): Promise<string>;
}

export class FfmpegFailedError extends Error {
  constructor(
    readonly label: string,
    readonly detail: string,
    readonly stderrTail: string,
  ) {
    super(`ffmpeg (${label}) failed: ${detail}${stderrTail ? `: ${stderrTail}` : ''}`);
    this.name = 'FfmpegFailedError';
  }
}

export class FfmpegAbortedError extends Error {
  constructor(
    readonly label: string,
    readonly reason: unknown,
  ) {
    super(`ffmpeg (${label}) was stopped: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'FfmpegAbortedError';
  }
}

export class FfmpegUnavailableError extends Error {
  constructor(
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(
      `${path} cannot be run (install ffmpeg, or set FFMPEG_PATH and FFPROBE_PATH): ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'FfmpegUnavailableError';
  }
}

export class MediaProbeError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`ffprobe could not read ${path}: ${detail}`);
    this.name = 'MediaProbeError';
  }
}

export class MediaDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path} does not decode cleanly: ${detail}`);
    this.name = 'MediaDecodeError';
  }
}

/** Options every run gets: quiet except errors, machine-readable progress on stderr twice a second. */
const globalOptions = (logLevel: 'error' | 'info') => [
  '-hide_banner',
  '-nostdin',
  '-v',
  logLevel,
  '-progress',
  'pipe:2',
  '-stats_period',
  '0.5',
];
const STDERR_KEPT_LINES = 500;
const STDERR_TAIL_IN_ERRORS = 12;

/**
 * fluent-ffmpeg splits an option given in an array into two arguments when it holds exactly one
 * space (`-var_stream_map` values, filter expressions); options passed as separate call
 * arguments are taken as they are.
 */
function verbatim(options: string[], apply: (...options: string[]) => unknown): void {
  if (options.length === 0) return;
  if (options.length === 1 && options[0]!.includes(' '))
    throw new RangeError(`a lone ffmpeg option cannot contain a space: ${options[0]}`);
  apply(...options);
}

export interface FfmpegRunnerOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** The Ffmpeg port on the ffmpeg and ffprobe executables (through fluent-ffmpeg). */
export class FfmpegRunner implements Ffmpeg {
  private readonly ffmpegPath: string;
  private readonly ffprobePath: string;

  constructor({ ffmpegPath = 'ffmpeg', ffprobePath = 'ffprobe' }: FfmpegRunnerOptions = {}) {
    this.ffmpegPath = ffmpegPath;
    this.ffprobePath = ffprobePath;
  }

  run(invocation: FfmpegInvocation, { signal, onProgress }: FfmpegRunOptions = {}): Promise<FfmpegRunResult> {
    const { label, inputs, complexFilter, outputs, expectedDurationMs, logLevel = 'error' } = invocation;
    if (signal?.aborted) return Promise.reject(new FfmpegAbortedError(label, signal.reason));
    const started = performance.now();
    const command = ffmpeg({ stdoutLines: 0 }).setFfmpegPath(this.ffmpegPath);
    inputs.forEach((input, index) => {
      command.input(input.path);
      // Global options may stand anywhere on ffmpeg's command line; the first input's are the one slot fluent-ffmpeg offers before the outputs.
      verbatim([...(index === 0 ? globalOptions(logLevel) : []), ...(input.options ?? [])], (...options) =>
        command.inputOptions(...options),
      );
    });
    if (complexFilter) command.complexFilter(complexFilter);
    for (const output of outputs) {
      command.output(output.path);
      verbatim(output.options, (...options) => command.outputOptions(...options));
    }

    const progress = new ProgressReader(expectedDurationMs);
    const printed: string[] = [];
    let speed: number | undefined;
    return new Promise<FfmpegRunResult>((resolve, reject) => {
      const onAbort = () => command.kill('SIGKILL');
      signal?.addEventListener('abort', onAbort, { once: true });
      command.on('stderr', (line: string) => {
        const report = progress.read(line);
        if (report) {
          speed = report.speed ?? speed;
          onProgress?.(report);
        } else if (line.trim() !== '' && !/^[a-z_0-9]+=/.test(line)) {
          printed.push(line.trim());
          if (printed.length > STDERR_KEPT_LINES) printed.shift();
        }
      });
      command.on('error', (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(new FfmpegAbortedError(label, signal.reason));
        else
          reject(
            new FfmpegFailedError(
              label,
              error.message.split('\n')[0]!.split(': ')[0]!,
              printed.slice(-STDERR_TAIL_IN_ERRORS).join(' | '),
            ),
          );
      });
      command.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve({ speed, wallMs: performance.now() - started, stderr: printed });
      });
      command.run();
    });
  }

  async probe(path: string, signal?: AbortSignal): Promise<MediaProbe> {
    const json = await this.ffprobe(['-show_format', '-show_streams', path], path, signal);
    const format = json.format as Record<string, string> | undefined;
    if (!format) throw new MediaProbeError(path, 'no format section');
    const seconds = (value: unknown) => (value === undefined || value === 'N/A' ? undefined : Number(value) * 1000);
    const streams = ((json.streams as Array<Record<string, unknown>> | undefined) ?? []).map((s): ProbedStream => {
      const codecType = typeof s.codec_type === 'string' ? s.codec_type : 'unknown';
      const stream: ProbedStream = {
        index: Number(s.index),
        codecType: ['video', 'audio', 'data', 'subtitle', 'attachment'].includes(codecType)
          ? (codecType as ProbedStream['codecType'])
          : 'unknown',
      };
      if (typeof s.codec_name === 'string') stream.codecName = s.codec_name;
      if (typeof s.width === 'number') stream.width = s.width;
      if (typeof s.height === 'number') stream.height = s.height;
      if (s.sample_rate !== undefined) stream.sampleRate = Number(s.sample_rate);
      if (typeof s.channels === 'number') stream.channels = s.channels;
      const duration = seconds(s.duration);
      if (duration !== undefined && Number.isFinite(duration)) stream.durationMs = duration;
      return stream;
    });
    return {
      formatName: format.format_name ?? '',
      durationMs: seconds(format.duration) ?? 0,
      startTimeMs: seconds(format.start_time) ?? 0,
      streams,
    };
  }

  async keyframes(path: string, signal?: AbortSignal): Promise<Keyframe[]> {
    const json = await this.ffprobe(
      ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos,flags', path],
      path,
      signal,
    );
    const packets = (json.packets as Array<Record<string, string>> | undefined) ?? [];
    return packets
      .filter((p) => p.flags?.startsWith('K') && p.pts_time !== undefined && p.pts_time !== 'N/A')
      .map((p) => ({ ptsMs: Number(p.pts_time) * 1000, pos: Number(p.pos) }));
  }

  async decodeCheck(path: string, signal?: AbortSignal, depth: 'full' | 'sampled' = 'full'): Promise<void> {
    const label = `decode ${path.split('/').pop()}`;
    const invocation: FfmpegInvocation =
      depth === 'full'
        ? {
            label,
            inputs: [{ path, options: ['-xerror'] }],
            outputs: [{ path: '-', options: ['-map', '0', '-f', 'null'] }],
          }
        : {
            label,
            inputs: [
              { path, options: ['-xerror', '-skip_frame:v', 'nokey'] },
              { path, options: ['-t', '1'] },
              { path, options: ['-sseof', '-1'] },
            ],
            outputs: [
              { path: '-', options: ['-map', '0:v:0', '-map', '0:a?', '-map', '1:v:0', '-map', '2:v:0', '-f', 'null'] },
            ],
          };
    try {
      await this.run(invocation, { signal });
    } catch (error) {
      if (error instanceof FfmpegFailedError) throw new MediaDecodeError(path, error.stderrTail || error.detail);
      throw error;
    }
  }

  async version(): Promise<string> {
    let line = '';
    for (const path of [this.ffmpegPath, this.ffprobePath]) {
      try {
        const { stdout } = await execFileAsync(path, ['-version'], { timeout: 5_000 });
        line ||= stdout.split('\n')[0]!;
      } catch (error) {
        throw new FfmpegUnavailableError(path, { cause: error });
      }
    }
    return line;
  }

  private async ffprobe(args: string[], path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    try {
      const { stdout } = await execFileAsync(this.ffprobePath, ['-v', 'error', '-of', 'json', ...args], {
        signal,
        maxBuffer: 64 * 1024 * 1024,
      });
      return JSON.parse(stdout) as Record<string, unknown>;
    } catch (error) {
      if (signal?.aborted) throw new FfmpegAbortedError(`ffprobe ${path}`, signal.reason);
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new MediaProbeError(path, stderr || (error instanceof Error ? error.message : String(error)));
    }
  }
}
