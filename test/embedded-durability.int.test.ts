import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { createBus } from '../core/bus/create-bus.ts';
import { loadConfig, type AnalyticsSettings } from '../core/config.ts';
import { DEAD_LETTER_HEADERS } from '../core/dead-letters.ts';
import { TOPICS } from '../core/topics.ts';
import { SeededRandom } from '../tools/simulator/seeded-random.ts';
import { simulate } from '../tools/simulator/simulate.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../stream-processors/viewer-analytics/testing/short-settings.ts';
import { countViewSummaries, expectAnalyticsToMatchTruth } from './analytics-truth.ts';
import { analyticsSettingsEnvironment, embeddedEnvironment } from './process-environment.ts';
import { LivepulseProcess } from './livepulse-process.ts';
import { waitFor } from './wait-for.ts';

/**
 * `npm start` as a small deployment runs it: every service in one process in embedded mode (the
 * bus's SQLite log, chDB and the objects in its data directory). Simulated viewers play against
 * its collector while the process is killed with SIGKILL at five random moments and restarted
 * each time on the same port (the viewers retry meanwhile), then stopped gracefully once and
 * restarted, traffic still flowing. Afterwards every metric equals the simulator's ground truth:
 * nothing acknowledged was lost, nothing was skipped as already applied after a restart (the log
 * numbers its offsets on from where it was), nothing was counted twice.
 */
// A viewer's batch can wait out more than one restart (its retries back off up to 5 s): lateness
// beyond that on a loaded machine, so held-back batches are on time as the ground truth assumes.
const settings: AnalyticsSettings = { ...SHORT_ANALYTICS_SETTINGS, allowedLatenessMs: 75_000 };
const WRITE_KEY = 'lp_embedded_durability_key';
const PARTITIONS = 4;

/** Values of a Prometheus metric's series, by their label text. */
function series(exposition: string, name: string): number[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

describe('embedded mode: the platform process killed with SIGKILL five times and restarted once gracefully', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  let dataDir = '';
  let platform: LivepulseProcess | undefined;

  afterAll(async () => {
    await platform?.kill('SIGTERM');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('every metric equals the ground truth: nothing acknowledged lost, nothing dropped as already applied, nothing counted twice', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-embedded-durability-'));
    const env = embeddedEnvironment(dataDir, {
      LIVEPULSE_WRITE_KEYS: `demo:${WRITE_KEY}`,
      EMBEDDED_BUS_PARTITIONS: String(PARTITIONS),
      LOG_LEVEL: 'warn',
      ...analyticsSettingsEnvironment(settings),
    });
    // Every service, as `npm start` runs them.
    platform = new LivepulseProcess('livepulse', env, [], { samePort: true });
    await platform.start();
    const running = platform;

    const random = new SeededRandom(Number.parseInt(id.slice(0, 6), 16));
    const simulation = simulate({
      viewers: 120,
      durationMs: 110_000,
      streams: 2,
      seed: Number.parseInt(id.slice(6, 12), 16),
      collectorUrl: running.url,
      writeKey: WRITE_KEY,
      flushIntervalMs: 2_000,
      // Generous: a restart of every service takes a while on a loaded machine.
      deliveryTimeoutMs: 240_000,
      chaos: { seed: 17, shuffle: true, duplicateShare: 0.05, holdBackShare: 0.1, maxHoldBackMs: 2_000 },
      settings,
    });
    const chaos = (async () => {
      for (let kill = 0; kill < 5; kill++) {
        // Up long enough between kills for the viewers' retries to get through.
        await sleep(random.int(4_000, 9_000));
        await running.kill('SIGKILL');
        await running.start();
      }
      // Then a graceful stop and start while the viewers are still sending.
      await sleep(random.int(2_000, 5_000));
      await running.kill('SIGTERM');
      await running.start();
    })();
    const [{ truth, report }] = await Promise.all([simulation, chaos]);
    expect(report.rejected).toEqual([]);
    expect(running.kills).toBe(5);

    // Done when every view has ended and been forgotten by the processor (its summary published
    // first), and every consumer group has read everything: twice in a row, a few seconds apart.
    let quietScrapes = 0;
    await waitFor(
      'every view to end and every consumer to catch up',
      async () => {
        const exposition = await (await fetch(`${running.url}/metrics`)).text();
        const views = series(exposition, 'livepulse_viewer_analytics_views');
        const lags = series(exposition, 'livepulse_bus_consumer_lag_messages');
        const quiet =
          views.length === PARTITIONS &&
          views.every((v) => v === 0) &&
          lags.length > 0 &&
          lags.every((lag) => lag === 0);
        quietScrapes = quiet ? quietScrapes + 1 : 0;
        return quietScrapes >= 2;
      },
      { timeoutMs: 300_000, intervalMs: 3_000 },
    );
    await running.kill('SIGTERM');
    expect(running.unexpectedExits).toEqual([]);

    // Nothing went to the side outputs (late, after a view's end): each restart's backlog was on time.
    const config = loadConfig({ LIVEPULSE_DATA_DIR: dataDir });
    const log = createBus(config.bus, pino({ level: 'silent' }));
    const sideOutputs: string[] = [];
    try {
      const reader = await log.subscribe({
        groupId: 'durability-test-dead-letters',
        topics: [TOPICS.deadLetters],
        handleBatch: (batch) => {
          sideOutputs.push(...batch.messages.map((m) => m.headers[DEAD_LETTER_HEADERS.reason] ?? ''));
          return Promise.resolve();
        },
      });
      const end = await log.endOffsets(TOPICS.deadLetters);
      await waitFor('the dead letters to be read', async () =>
        (await log.committedOffsets('durability-test-dead-letters', TOPICS.deadLetters)).every(
          (c, p) => end[p] === 0 || c === end[p],
        ),
      );
      await reader.stop();
    } finally {
      await log.close();
    }
    expect(sideOutputs).toEqual([]);

    const store = await createAnalyticsStore(config.analyticsStore);
    try {
      expect(await countViewSummaries(store, truth.property_id)).toBe(truth.views);
      await expectAnalyticsToMatchTruth(store, truth);
    } finally {
      await store.close();
    }
  }, 900_000);
});
