import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../core/topics.ts';
import { waitFor } from '../../test/wait-for.ts';
import { startBrowserPlayback, writeTestHls, type BrowserPlayback } from '../testing/browser-playback.ts';
import { TEST_WRITE_KEY } from '../testing/test-collector.ts';

/**
 * The hls.js configuration docs/player-integration.md gives, run as written (read from the doc)
 * by the real hls.js in headless Chromium: its CMCD v2 event reports must name the viewer. The
 * same configuration without `includeKeys` (what the doc said before) shows why the doc asks for
 * it: hls.js then leaves the custom key out, the session id stands in for the viewer, and the
 * collector counts those reports in `livepulse_ingest_cmcd_reports_without_viewer_total`.
 */
const VIEWER = 'viewer-documented';

let workDir: string;
let playback: BrowserPlayback;

/** The doc's hls.js example, with its placeholders replaced; fails when the doc no longer has what is replaced. */
async function documentedConfiguration(contentId: string): Promise<string> {
  const doc = await readFile(new URL('../../docs/player-integration.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## CMCD only'));
  const snippet = /```js\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!snippet) throw new Error('docs/player-integration.md: no hls.js example under "CMCD only"');
  const replacements: Array<[RegExp, string]> = [
    [/const hls = new Hls\(/, 'new Hls('],
    [
      /'https:\/\/collect\.example\.com\/v1\/cmcd\?key=[^']*'/,
      JSON.stringify(`${playback.collectorUrl}/v1/cmcd?key=${TEST_WRITE_KEY}`),
    ],
    [/contentId: '[^']*'/, `contentId: ${JSON.stringify(contentId)}`],
    [/interval: 10,/, 'interval: 2,'],
  ];
  return replacements.reduce((code, [pattern, value]) => {
    if (!pattern.test(code)) throw new Error(`docs/player-integration.md: the hls.js example has no ${pattern}`);
    return code.replace(pattern, value);
  }, snippet);
}

function pageHtml(players: Array<{ video: string; config: string }>): string {
  const start = players
    .map(
      ({ video, config }) =>
        `{ const hls = ${config.replace(/;\s*$/, '')}; hls.loadSource('/index.m3u8'); hls.attachMedia(document.getElementById(${JSON.stringify(video)})); document.getElementById(${JSON.stringify(video)}).play(); }`,
    )
    .join('\n');
  return `<!doctype html><html><body>
${players.map(({ video }) => `<video id="${video}" muted playsinline width="320" height="180"></video>`).join('\n')}
<script src="/hls.js"></script>
<script>
  const anonymousViewerId = ${JSON.stringify(VIEWER)};
  ${start}
</script></body></html>`;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'livepulse-cmcd-hls-'));
  // 10 s of test pattern in 2 s segments.
  await writeTestHls(workDir, { size: '320x180', audio: false });
  let html = '';
  playback = await startBrowserPlayback(workDir, () => html);

  const documented = await documentedConfiguration('documented-stream');
  const withoutIncludeKeys = (await documentedConfiguration('no-include-keys-stream')).replace(
    /^\s*includeKeys: .*\n/m,
    '',
  );
  expect(withoutIncludeKeys).not.toContain('includeKeys:');
  html = pageHtml([
    { video: 'documented', config: documented },
    { video: 'without-include-keys', config: withoutIncludeKeys },
  ]);
}, 120_000);

afterAll(async () => {
  await playback?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface StoredEvent {
  event: string;
  source: string;
  stream_id: string;
  viewer_id: string;
  view_id: string;
}
const cmcdEvents = (streamId: string) =>
  playback.collector
    .records(TOPICS.playerEvents)
    .map((r) => r.value as unknown as StoredEvent)
    .filter((e) => e.source === 'cmcd' && e.stream_id === streamId);

describe('the documented hls.js CMCD configuration in Chromium', () => {
  it('names the viewer; without includeKeys the key never arrives and the collector counts it', async () => {
    const page = await playback.browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(playback.pageOrigin);
    const heartbeats = (streamId: string) => cmcdEvents(streamId).filter((e) => e.event === 'heartbeat').length;
    await waitFor(
      'both players playing and reporting heartbeats',
      () => heartbeats('documented-stream') >= 2 && heartbeats('no-include-keys-stream') >= 2,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await page.close();
    expect(pageErrors).toEqual([]);

    const documented = cmcdEvents('documented-stream');
    expect(documented.map((e) => e.event)).toContain('playing');
    expect(new Set(documented.map((e) => e.viewer_id))).toEqual(new Set([VIEWER]));

    const without = cmcdEvents('no-include-keys-stream');
    expect(without.map((e) => e.event)).toContain('playing');
    expect(without.some((e) => e.viewer_id === VIEWER)).toBe(false);
    const counted = await playback.collector.metrics.registry.getSingleMetricAsString(
      'livepulse_ingest_cmcd_reports_without_viewer_total',
    );
    // Each of its heartbeats was a report line without the key.
    expect(Number(/_total(?:\{[^}]*\})? (\d+)/.exec(counted)?.[1])).toBeGreaterThanOrEqual(
      heartbeats('no-include-keys-stream'),
    );
  }, 120_000);
});
