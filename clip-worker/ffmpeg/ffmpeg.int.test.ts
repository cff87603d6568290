import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FfmpegAbortedError,
  FfmpegFailedError,
  FfmpegUnavailableError,
  FfmpegRunner,
  MediaDecodeError,
  MediaProbeError,
} from './ffmpeg.ts';
import type { FfmpegProgress } from './progress.ts';

/** The ffmpeg adapter against the real ffmpeg and ffprobe. */
describe('FfmpegRunner', () => {
  const ffmpeg = new FfmpegRunner();
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'livepulse-ffmpeg-'));
    clip = join(dir, 'clip.mp4');
    // 6 s with a keyframe every second; the text filter option holds a space (fluent-ffmpeg would split it).
    await ffmpeg.run({
      label: 'fixture',
      inputs: [
        { path: 'testsrc2=size=320x180:rate=30', options: ['-f', 'lavfi'] },
        { path: 'sine=frequency=440:sample_rate=48000', options: ['-f', 'lavfi'] },
      ],
      outputs: [
        {
          path: clip,
          options: [
            '-t',
            '6',
            '-c:v',
            'libx264',
            '-preset',
            'ultrafast',
            '-g',
            '30',
            '-metadata',
            'title=a title',
            '-c:a',
            'aac',
            '-movflags',
            '+faststart',
            '-y',
          ],
        },
      ],
    });
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reports progress and speed from -progress, and passes options verbatim', async () => {
    const reports: FfmpegProgress[] = [];
    const result = await ffmpeg.run(
      {
        label: 'copy',
        inputs: [{ path: clip }],
        outputs: [{ path: join(dir, 'copy.mp4'), options: ['-c', 'copy', '-y'] }],
        expectedDurationMs: 6_000,
      },
      { onProgress: (p) => reports.push(p) },
    );
    expect(reports.at(-1)).toMatchObject({ done: true, ratio: 1 });
    expect(result.speed).toBeGreaterThan(1);
    const probe = await ffmpeg.probe(clip);
    expect(probe.streams.map((s) => s.codecType)).toEqual(['video', 'audio']);
    expect(probe.durationMs).toBeGreaterThan(5_900);
    expect((await ffmpeg.keyframes(clip)).map((k) => Math.round(k.ptsMs / 100) * 100)).toEqual([
      0, 1_000, 2_000, 3_000, 4_000, 5_000,
    ]);
  });

  it('kills ffmpeg when the job is aborted', async () => {
    const controller = new AbortController();
    const running = ffmpeg.run(
      {
        label: 'endless',
        inputs: [{ path: 'testsrc2=size=320x180:rate=30', options: ['-f', 'lavfi'] }],
        outputs: [{ path: '-', options: ['-f', 'null'] }],
      },
      { signal: controller.signal, onProgress: () => controller.abort(new Error('shutting down')) },
    );
    await expect(running).rejects.toBeInstanceOf(FfmpegAbortedError);
  });

  it('decodes clean files, and finds truncated and corrupted ones at either depth', async () => {
    await ffmpeg.decodeCheck(clip, undefined, 'full');
    await ffmpeg.decodeCheck(clip, undefined, 'sampled');
    const bytes = await readFile(clip);
    const truncated = join(dir, 'truncated.mp4');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const corrupted = join(dir, 'corrupted.mp4');
    const damaged = Buffer.from(bytes);
    for (let i = 0; i < 300; i++) {
      const at = Math.floor(damaged.length / 2) + i * 53;
      damaged[at] = damaged[at]! ^ 0xff;
    }
    await writeFile(corrupted, damaged);
    for (const depth of ['full', 'sampled'] as const) {
      await expect(ffmpeg.decodeCheck(truncated, undefined, depth)).rejects.toBeInstanceOf(MediaDecodeError);
      await expect(ffmpeg.decodeCheck(corrupted, undefined, depth)).rejects.toBeInstanceOf(MediaDecodeError);
    }
  });

  it('names what failed', async () => {
    await expect(ffmpeg.probe(join(dir, 'missing.mp4'))).rejects.toBeInstanceOf(MediaProbeError);
    const failed = ffmpeg.run({
      label: 'bad filter',
      inputs: [{ path: clip }],
      outputs: [{ path: '-', options: ['-vf', 'nosuchfilter', '-f', 'null'] }],
    });
    await expect(failed).rejects.toBeInstanceOf(FfmpegFailedError);
    await expect(failed).rejects.toThrow(/ffmpeg \(bad filter\) failed: ffmpeg exited with code 1: .*nosuchfilter/);
    await expect(new FfmpegRunner({ ffmpegPath: '/nonexistent/ffmpeg' }).version()).rejects.toBeInstanceOf(
      FfmpegUnavailableError,
    );
    expect(await ffmpeg.version()).toMatch(/^ffmpeg version/);
  });
});
