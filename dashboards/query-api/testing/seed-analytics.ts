import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { AnalyticsStore } from '../../../core/analytics-store/analytics-store.ts';
import { insertRows } from '../../../core/analytics-store/insert.ts';
import { EmbeddedBus } from '../../../core/bus/embedded-bus.ts';
import { Metrics } from '../../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../../core/topics.ts';
import { countViewSummaries } from '../../../test/analytics-truth.ts';
import { waitFor } from '../../../test/wait-for.ts';
import { ClickHouseSink } from '../../../stream-processors/sinks/clickhouse-sink.ts';
import { collectedEvents } from '../../../tools/simulator/collector-view.ts';
import { computeGroundTruth, type GroundTruth } from '../../../tools/simulator/ground-truth.ts';
import { planSimulation, type SimulationPlan } from '../../../tools/simulator/viewer-scripts.ts';
import { ViewerAnalyticsProcessor } from '../../../stream-processors/viewer-analytics/viewer-analytics-processor.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../../../stream-processors/viewer-analytics/testing/short-settings.ts';

/**
 * Test data for the query API and reports, written the way production writes it: a simulation's
 * player events through the real viewer-analytics processor and ClickHouse sink (so the windows,
 * rollups and creator_streams are what the pipeline makes), plus chat, moderation, highlights and
 * clips rows for the simulated streams through `insertRows`, as their sinks write them.
 */
const SETTINGS = SHORT_ANALYTICS_SETTINGS;

export interface SeededAnalytics {
  plan: SimulationPlan;
  truth: GroundTruth;
}

/** Runs a simulation in the recent past through the processor and sink, until every view is summarized. */
export async function seedSimulatedViewers(
  store: AnalyticsStore,
  options: { viewers: number; streams: number; seed: number },
): Promise<SeededAnalytics> {
  const logger = pino({ level: 'silent' });
  const bus = new EmbeddedBus({
    defaultPartitions: 4,
    maxRetainedMessages: 1_000_000,
    publish: { lingerMs: 2, maxBatchMessages: 2_000, maxBufferedMessages: 100_000 },
  });
  await bus.ensureTopics(allTopicSpecs(4));
  const plan = planSimulation({
    ...options,
    durationMs: 120_000,
    startAt: Date.now() - 6 * 60_000,
    maxRebufferMs: SETTINGS.maxRebufferMs,
  });
  const truth = computeGroundTruth(plan, SETTINGS);
  const metrics = new Metrics();
  const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger });
  const processor = new ViewerAnalyticsProcessor(
    { bus, metrics, logger },
    { settings: SETTINGS, maxBatchMessages: 500 },
  );
  try {
    await sink.start();
    await processor.start();
    const events = collectedEvents(plan, { deliveryDelayMs: () => 0 });
    await bus.publish(
      TOPICS.playerEvents,
      events.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
    );
    await waitFor(
      'every view to be summarized',
      async () => (await countViewSummaries(store, plan.propertyId)) === truth.views,
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    await waitFor(
      'the sink to catch up',
      async () => {
        const [committed, end] = await Promise.all([
          bus.committedOffsets('clickhouse-sink', TOPICS.analyticsAggregates),
          bus.endOffsets(TOPICS.analyticsAggregates),
        ]);
        return end.every((e, p) => e === 0 || committed[p] === e);
      },
      { timeoutMs: 60_000 },
    );
  } finally {
    await processor.stop();
    await sink.stop();
    await bus.close();
  }
  return { plan, truth };
}

const clickHouseTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export interface SeededChat {
  /** Per stream: messages, distinct chatters, moderation events and enforcement actions. */
  perStream: Record<
    string,
    { messages: number; chatters: number; moderation: number; enforcement: number; clips: number }
  >;
  /** Clips by descending highlight score. */
  clipsByScore: Array<{ clip_id: string; stream_id: string; score: number; thumbnail_key: string }>;
}

/**
 * Chat (with text no SQL should ever see as SQL), moderation events, highlights and clips for
 * each stream, during the stream. Deterministic counts, so the reports can be checked exactly.
 */
export async function seedChatAndClips(
  store: AnalyticsStore,
  streams: Array<{ streamId: string; at: number }>,
): Promise<SeededChat> {
  const hostile = [
    "'; DROP TABLE chat_messages; --",
    'ünïcødé ✓ 🎉',
    'a "quoted", comma',
    '=HYPERLINK("x")',
    '\\N',
    'line\nbreak',
  ];
  const seeded: SeededChat = { perStream: {}, clipsByScore: [] };
  const chat: Record<string, unknown>[] = [];
  const moderation: Record<string, unknown>[] = [];
  const highlights: Record<string, unknown>[] = [];
  const clips: Record<string, unknown>[] = [];
  streams.forEach(({ streamId, at }, s) => {
    const messages = 20 + 7 * s;
    const chatters = 5 + s;
    for (let i = 0; i < messages; i++) {
      chat.push({
        message_id: `m-${streamId}-${i}`,
        stream_id: streamId,
        user_id: `chatter-${i % chatters}`,
        display_name: hostile[i % hostile.length],
        client_message_id: randomUUID(),
        text: hostile[i % hostile.length],
        sent_at: clickHouseTime(at + i * 1_000),
        heuristic_decision: 'allow',
        flag_categories: [],
        flag_scores: [],
      });
    }
    const actions = ['remove', 'timeout', 'allow', 'ban', 'release'].slice(0, 2 + s);
    actions.forEach((action, i) =>
      moderation.push({
        verdict_id: `v-${streamId}-${i}`,
        stream_id: streamId,
        decided_at: clickHouseTime(at + 5_000 + i * 1_000),
        source: i % 2 === 0 ? 'moderator' : 'ai',
        action,
        actor_id: 'mod-1',
        message_id: `m-${streamId}-${i}`,
        target_user_id: `chatter-${i}`,
        reason: hostile[i % hostile.length],
        flag_categories: [],
        flag_scores: [],
        duration_ms: 0,
        details: '',
      }),
    );
    const clipCount = 1 + (s % 2);
    for (let i = 0; i < clipCount; i++) {
      const highlightId = `h-${streamId}-${i}`;
      const clipId = `clip_${streamId.replace(/[^a-z0-9]/g, '').slice(-12)}${i}`;
      const score = 3 + s * 2 + i * 0.5;
      const start = at + 30_000 + i * 20_000;
      highlights.push({
        highlight_id: highlightId,
        stream_id: streamId,
        window_start: clickHouseTime(start),
        window_end: clickHouseTime(start + 15_000),
        score,
        reasons: [`chat spike ×${s + 2}`],
        requested_by: '',
        detected_at: clickHouseTime(start + 16_000),
      });
      const thumbnail = `clips/${clipId}/poster.jpg`;
      clips.push({
        clip_id: clipId,
        highlight_id: highlightId,
        stream_id: streamId,
        status: 'created',
        window_start: clickHouseTime(start),
        window_end: clickHouseTime(start + 15_000),
        duration_ms: 15_000,
        outputs: { mp4: `clips/${clipId}/clip.mp4`, thumbnail },
        reason: '',
        finished_at: clickHouseTime(start + 40_000),
      });
      seeded.clipsByScore.push({ clip_id: clipId, stream_id: streamId, score, thumbnail_key: thumbnail });
    }
    // A failed clip is no clip.
    clips.push({
      clip_id: `clip_failed${s}`,
      highlight_id: `h-${streamId}-failed`,
      stream_id: streamId,
      status: 'failed',
      window_start: clickHouseTime(at),
      window_end: clickHouseTime(at + 10_000),
      duration_ms: 0,
      outputs: {},
      reason: 'no recording',
      finished_at: clickHouseTime(at + 20_000),
    });
    seeded.perStream[streamId] = {
      messages,
      chatters,
      moderation: actions.length,
      enforcement: actions.filter((a) => ['remove', 'deny', 'timeout', 'ban'].includes(a)).length,
      clips: clipCount,
    };
  });
  await insertRows(store, { table: 'chat_messages', rows: chat, dedupToken: `seed-chat-${randomUUID()}` });
  await insertRows(store, {
    table: 'chat_moderation_events',
    rows: moderation,
    dedupToken: `seed-moderation-${randomUUID()}`,
  });
  await insertRows(store, { table: 'highlights', rows: highlights, dedupToken: `seed-highlights-${randomUUID()}` });
  await insertRows(store, { table: 'clips', rows: clips, dedupToken: `seed-clips-${randomUUID()}` });
  seeded.clipsByScore.sort((a, b) => b.score - a.score);
  return seeded;
}
