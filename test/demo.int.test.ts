import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegRunner } from '../clip-worker/ffmpeg/ffmpeg.ts';
import { mediaProblems } from '../clip-worker/verify-clip.ts';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { loadConfig } from '../core/config.ts';
import { LocalObjectStore } from '../core/object-store/local-object-store.ts';
import { peakConcurrencyByMinute } from '../core/analytics/metric-queries.ts';
import { embeddedEnvironment } from './process-environment.ts';

/**
 * `livepulse demo` as a newcomer runs it: one process in embedded mode (its own data directory
 * and port), checked from the outside. It runs until the first clip is announced (or its
 * --duration), is stopped with Ctrl-C (SIGINT), and must then have: counted the simulated
 * viewers, removed the scripted abuse with the reasons in the audit log, fired a highlight on the
 * hype spike, sent the host prompts, and produced a clip ffprobe accepts.
 */
function demoEnvironment(dataDir: string): Record<string, string> {
  // Light media settings: the machine running the tests is shared, and the stream must keep up with real time.
  return embeddedEnvironment(dataDir, {
    PORT: '0',
    LOG_LEVEL: 'info',
    CLIP_X264_PRESET: 'ultrafast',
    CLIP_VERTICAL_SIZE: '180x320',
  });
}

interface DemoRun {
  code: number | null;
  lines: string[];
}

describe('livepulse demo', () => {
  let dataDir: string;
  let run: DemoRun;
  let store: AnalyticsStore;
  let streamId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-demo-'));
    const child = spawn(
      process.execPath,
      ['bin/livepulse.js', 'demo', '--duration', '170', '--seed', '7', '--renditions', '360p30,160p30'],
      {
        env: demoEnvironment(dataDir),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    let pending = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const complete = pending.split('\n');
      pending = complete.pop()!;
      lines.push(...complete);
      // Ctrl-C once the first clip is out, as a newcomer would after seeing it.
      if (!interrupted && complete.some((line) => / clip ready /.test(line))) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    run = { code, lines };
    streamId = /^ {2}stream {6}(st-\w+):/m.exec(lines.join('\n'))?.[1] ?? '';
    store = await createAnalyticsStore(loadConfig({ LIVEPULSE_DATA_DIR: dataDir }).analyticsStore);
  }, 240_000);

  afterAll(async () => {
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const rows = async <T>(query: string): Promise<T[]> =>
    (await store.client.query({ query, query_params: { stream: streamId }, format: 'JSONEachRow' })).json<T>();

  it('starts the platform, prints where to look, stops cleanly on Ctrl-C', () => {
    const output = run.lines.join('\n');
    expect(run.code, output).toBe(0);
    expect(streamId).toMatch(/^st-\w{12}$/);
    expect(output).toMatch(/^ {2}live board {2}http:\/\/127\.0\.0\.1:\d+\/live\?token=[\w-]+\.[\w-]+\.[\w-]+$/m);
    expect(output).toMatch(/SIGINT: stopping/);
    expect(run.lines.at(-1)).toMatch(/^\[\d\d:\d\d\] stopped$/);
  });

  it('counted the simulated viewers, live in the terminal and in ClickHouse', async () => {
    const shown = run.lines.flatMap((line) => {
      const match = /^\[\d\d:\d\d\] viewers (\d+) · /.exec(line);
      return match ? [Number(match[1])] : [];
    });
    expect(Math.max(...shown)).toBeGreaterThan(10);
    const peaks = await peakConcurrencyByMinute(store, { propertyId: 'demo', streamId });
    expect(Math.max(...peaks.map((p) => p.peak))).toBeGreaterThan(10);
  });

  it('held and removed the scripted spam and abuse, and the audit log says why', async () => {
    const decisions = await rows<{ heuristic_decision: string; messages: number }>(
      `SELECT heuristic_decision, toUInt32(count()) AS messages FROM chat_messages FINAL WHERE stream_id = {stream:String} GROUP BY heuristic_decision`,
    );
    const byDecision = Object.fromEntries(decisions.map((d) => [d.heuristic_decision, d.messages]));
    expect(byDecision.allow).toBeGreaterThan(50);
    expect(byDecision.hold).toBeGreaterThan(0);

    const audit = await rows<{ action: string; source: string; reason: string }>(
      `SELECT action, source, reason FROM chat_moderation_events FINAL WHERE stream_id = {stream:String} AND action IN ('remove', 'deny', 'timeout')`,
    );
    const removals = audit.filter((a) => a.action === 'remove');
    expect(removals.length).toBeGreaterThan(0);
    expect(removals.every((a) => a.source === 'moderator' && a.reason === 'harassment: a directed insult')).toBe(true);
    const denials = audit.filter((a) => a.action === 'deny' && a.source === 'moderator');
    expect(denials.length).toBeGreaterThan(0);
    // The moderator's reason names the kind and the rules that held the message, e.g. `spam: spam.links`.
    expect(denials.every((a) => /^(spam|abuse): (spam|aggression)\.\w+/.test(a.reason))).toBe(true);
    expect(run.lines.some((line) => / moderator removed a message: harassment/.test(line))).toBe(true);
  });

  it('fired a highlight on the hype spike and sent the host prompts', async () => {
    const highlights = await rows<{ reasons: string[] }>(
      `SELECT reasons FROM highlights FINAL WHERE stream_id = {stream:String}`,
    );
    expect(
      highlights.some(
        (h) => h.reasons.some((r) => r.startsWith('chat_spike:')) && h.reasons.some((r) => r.startsWith('hype:')),
      ),
      run.lines.join('\n'),
    ).toBe(true);
    expect(run.lines.some((line) => / highlight .*chat_spike: z=/.test(line))).toBe(true);
    expect(run.lines.some((line) => / host prompt \(priority [1-5]/.test(line))).toBe(true);
  });

  it('produced a clip that ffprobe accepts and that plays through', async () => {
    const [clip] = await rows<{ clip_id: string; outputs: Record<string, string>; duration_ms: number }>(
      // The clip's latest state: `created` (playable), or `updated` if its vertical version was made before the stop.
      `SELECT clip_id, outputs, duration_ms FROM clips FINAL WHERE stream_id = {stream:String} AND status IN ('created', 'updated') LIMIT 1`,
    );
    expect(clip).toBeDefined();
    expect(run.lines.some((line) => line.includes(` clip ready `) && line.includes(`/v1/clips/${clip!.clip_id}`))).toBe(
      true,
    );
    const path = join(dataDir, 'clip.mp4');
    await writeFile(path, await new LocalObjectStore({ root: join(dataDir, 'objects') }).get(clip!.outputs.mp4!));
    const ffmpeg = new FfmpegRunner();
    expect(
      mediaProblems(await ffmpeg.probe(path), {
        durationMs: clip!.duration_ms,
        toleranceMs: 500,
        video: true,
        audio: true,
      }),
    ).toEqual([]);
    await ffmpeg.decodeCheck(path);
  });
});
