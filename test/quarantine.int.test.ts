import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../core/bus/bus.ts';
import { loadConfig } from '../core/config.ts';
import { DEAD_LETTER_HEADERS } from '../core/dead-letters.ts';
import { verdictRecord } from '../core/moderation/verdict-records.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import type { ChatMessage, HostPrompt } from '../core/schemas/chat.ts';
import type { Highlight } from '../core/schemas/highlight.ts';
import type { EnrichedPlayerEvent } from '../core/schemas/player-event.ts';
import { TOPICS } from '../core/topics.ts';
import { relaunchLocalService, startLocalServices, stopLocalServices } from '../infra/local/process-supervisor.ts';
import { samplePlayerEvent } from '../ingest-api/events/sample-player-events.ts';
import { HIGHLIGHT_GROUPS, highlightDetectorService } from '../stream-processors/highlights/service.ts';
import { HOST_PROMPT_SINK_GROUP } from '../stream-processors/host-prompts/host-prompt-sink.ts';
import { hostPromptsService } from '../stream-processors/host-prompts/service.ts';
import { moderationService } from '../stream-processors/moderation/service.ts';
import { MODERATION_SINK_GROUP } from '../stream-processors/moderation/moderation-sink.ts';
import { CLICKHOUSE_SINK_GROUPS } from '../stream-processors/sinks/clickhouse-sink.ts';
import { clickHouseSinkService } from '../stream-processors/sinks/service.ts';
import type { WindowRow, WindowRowsMessage } from '../core/analytics/aggregate-messages.ts';
import { viewerAnalyticsService } from '../stream-processors/viewer-analytics/service.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../stream-processors/viewer-analytics/testing/short-settings.ts';
import { waitFor, waitForProgress } from './wait-for.ts';

/**
 * One bad message never stalls a pipeline (issue 20 §2), through the platform as `npm start` runs
 * it, on a ClickHouse of this test's own (so it can be stopped). For each consumed topic that a
 * sink writes to ClickHouse, three kinds of message are published straight onto the topic, on one
 * partition, between good ones:
 *
 * - a lone UTF-16 surrogate (the issue's own failure: ClickHouse refused the batch forever). Every
 *   schema now refuses it, so the consumer dead-letters it at once;
 * - a value ClickHouse itself refuses (a CHECK constraint this test adds): nothing in the consumer
 *   can tell, so the bus's quarantine retries it, narrows the batch down to it, and moves it to
 *   dead-letters with the group, the error and the original bytes;
 * - good messages before and after, which must all land exactly once.
 *
 * Then ClickHouse is stopped for 60 s while good messages keep coming: nothing is quarantined and
 * nothing is lost.
 */
const REFUSED = 'refused-by-clickhouse';
const LONE_SURROGATE = '\\ud800';

interface TopicCase {
  topic: string;
  /** The consumer group writing `table`. */
  group: string;
  table: string;
  /** Column identifying a good message's row. */
  idColumn: string;
  /** CHECK constraint ClickHouse enforces on `table`. */
  refuse: string;
  key: string;
  /** A good message with id `id`, or (refused) one carrying the refused value. */
  message(id: string, refused?: boolean): string;
  /** Where in `message`'s JSON text the lone surrogate is spliced. */
  surrogateIn: string;
}

const run = randomUUID().replaceAll('-', '').slice(0, 10);
const now = Date.now();

let viewSeq = 0;
function playerEvent(id: string, refused = false): string {
  const event: EnrichedPlayerEvent = {
    ...samplePlayerEvent(
      {
        event_id: id,
        view_id: `quarantine-view-${run}`,
        view_seq: viewSeq++,
        dimensions: { cdn: refused ? REFUSED : 'edge-cdn' },
      },
      now,
    ),
    property_id: 'demo',
    event_time: now - 1_000,
    received_at: now,
    source: 'sdk',
  };
  return JSON.stringify(event);
}

function windowRows(id: string, refused = false): string {
  const row: WindowRow = {
    property_id: 'demo',
    creator_id: 'creator',
    stream_id: refused ? REFUSED : id,
    dimension: 'cdn',
    dimension_value: 'edge-cdn',
    window_start: Math.floor(now / 10_000) * 10_000,
    concurrent_views: 1,
    views_started: 1,
    viewer_ids: ['viewer'],
    watch_ms: 1_000,
    playing_ms: 900,
    rebuffer_ms: 0,
    rebuffer_count: 0,
  };
  const message: WindowRowsMessage = {
    type: 'viewer_window_rows',
    group: 'quarantine-test',
    source_partition: 0,
    version: '1',
    emitted_at: now,
    rows: [row],
  };
  return JSON.stringify(message);
}

function chatMessage(id: string, refused = false): string {
  const message: ChatMessage = {
    schema_v: 1,
    message_id: id,
    stream_id: `s-${run}`,
    user_id: 'u1',
    display_name: 'Viewer',
    text: refused ? REFUSED : 'hello world',
    sent_at: now,
    heuristic_decision: 'allow',
    flags: [],
  };
  return JSON.stringify(message);
}

function chatVerdict(id: string, refused = false): string {
  return JSON.stringify({
    ...verdictRecord(
      {
        streamId: `s-${run}`,
        source: 'moderator',
        action: 'ban',
        actorId: 'mod-1',
        targetUserId: 'u1',
        reason: refused ? REFUSED : 'spam',
      },
      now,
    ),
    verdict_id: id,
  });
}

function highlight(id: string, refused = false): string {
  const value: Highlight = {
    schema_v: 1,
    highlight_id: id,
    stream_id: `s-${run}`,
    start: now - 20_000,
    end: now - 5_000,
    score: 4.2,
    reasons: ['chat spike'],
    requested_by: refused ? REFUSED : 'viewer-1',
    detected_at: now,
  };
  return JSON.stringify(value);
}

function hostPrompt(id: string, refused = false): string {
  const value: HostPrompt = {
    schema_v: 1,
    prompt_id: id,
    stream_id: `s-${run}`,
    prompt: refused ? REFUSED : 'What is next on stream?',
    rationale: 'asked by several viewers',
    source_message_ids: ['m-1'],
    askers: ['Viewer'],
    priority: 3,
    source: 'heuristic',
    window_start: now - 60_000,
    window_end: now,
    created_at: now,
  };
  return JSON.stringify(value);
}

const CASES: TopicCase[] = [
  {
    topic: TOPICS.playerEvents,
    group: CLICKHOUSE_SINK_GROUPS.rawEvents,
    table: 'player_events_raw',
    idColumn: 'toString(event_id)',
    refuse: `cdn != '${REFUSED}'`,
    key: `quarantine-view-${run}`,
    message: playerEvent,
    surrogateIn: 'edge-cdn',
  },
  {
    topic: TOPICS.analyticsAggregates,
    group: CLICKHOUSE_SINK_GROUPS.aggregates,
    table: 'viewer_windows',
    idColumn: 'stream_id',
    refuse: `stream_id != '${REFUSED}'`,
    key: `s-${run}`,
    message: windowRows,
    surrogateIn: 'edge-cdn',
  },
  {
    topic: TOPICS.chatMessages,
    group: MODERATION_SINK_GROUP,
    table: 'chat_messages',
    idColumn: 'message_id',
    refuse: `text != '${REFUSED}'`,
    key: `s-${run}`,
    message: chatMessage,
    surrogateIn: 'hello',
  },
  {
    topic: TOPICS.chatVerdicts,
    group: MODERATION_SINK_GROUP,
    table: 'chat_moderation_events',
    idColumn: 'verdict_id',
    refuse: `reason != '${REFUSED}'`,
    key: `s-${run}`,
    message: chatVerdict,
    surrogateIn: 'spam',
  },
  {
    topic: TOPICS.highlights,
    group: HIGHLIGHT_GROUPS.sink,
    table: 'highlights',
    idColumn: 'highlight_id',
    refuse: `requested_by != '${REFUSED}'`,
    key: `s-${run}`,
    message: highlight,
    surrogateIn: 'chat spike',
  },
  {
    topic: TOPICS.hostPrompts,
    group: HOST_PROMPT_SINK_GROUP,
    table: 'host_prompts',
    idColumn: 'prompt_id',
    refuse: `prompt != '${REFUSED}'`,
    key: `s-${run}`,
    message: hostPrompt,
    surrogateIn: 'What is next',
  },
];

describe('a message that fails deterministically is quarantined; the partition goes on', () => {
  let stateDir: string;
  let dataDir: string;
  let clickhousePort: number;
  let platform: RunningPlatform;
  const letters: DeliveredMessage[] = [];

  const bus = () => platform.context.bus;
  const query = async <T>(sql: string) =>
    (await platform.context.analytics.client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  const rowsPerId = async (c: TopicCase, ids: string[]) => {
    const rows = await query<{ id: string; n: string }>(
      `SELECT ${c.idColumn} AS id, count() AS n FROM ${c.table} WHERE ${c.idColumn} IN (${ids.map((id) => `'${id}'`).join(',')}) GROUP BY id`,
    );
    return Object.fromEntries(rows.map((r) => [r.id, Number(r.n)]));
  };
  const lag = async (c: TopicCase) => {
    const [committed, end] = await Promise.all([bus().committedOffsets(c.group, c.topic), bus().endOffsets(c.topic)]);
    return end.reduce((sum, e, p) => sum + (committed[p]! < 0 ? e : e - committed[p]!), 0);
  };
  const metric = async (name: string) => (await platform.context.metrics.registry.getSingleMetric(name)!.get()).values;
  const quarantinedCount = async () =>
    (await metric('livepulse_bus_quarantined_messages_total')).reduce((sum, v) => sum + v.value, 0);
  const publish = (c: TopicCase, values: string[]) =>
    bus().publish(
      c.topic,
      values.map((value) => ({ key: c.key, value: Buffer.from(value) })),
    );

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'livepulse-quarantine-services-'));
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-quarantine-'));
    const services = await startLocalServices(['clickhouse'], { stateDir });
    const clickhouseUrl = services.endpoints.clickhouseUrl!;
    clickhousePort = Number(new URL(clickhouseUrl).port);
    const settings = SHORT_ANALYTICS_SETTINGS;
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      CLICKHOUSE_URL: clickhouseUrl,
      CLICKHOUSE_DATABASE: `quarantine_${run}`,
      // A ClickHouse URL makes the mode distributed; the bus stays embedded.
      LIVEPULSE_WRITE_KEYS: 'demo:quarantine-write-key',
      LIVEPULSE_JWT_SECRET: 'quarantine-test-jwt-secret-0123456789abcdef',
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'quarantine-test-ivs-secret',
      ANALYTICS_WINDOW_MS: String(settings.windowMs),
      ANALYTICS_EMIT_INTERVAL_MS: String(settings.emitIntervalMs),
      ANALYTICS_CATCH_UP_INTERVAL_MS: String(settings.catchUpIntervalMs),
      ANALYTICS_IDLE_ADVANCE_MS: String(settings.idleAdvanceMs),
    });
    platform = await startPlatform(
      config,
      [viewerAnalyticsService, clickHouseSinkService, moderationService, highlightDetectorService, hostPromptsService],
      pino({ level: 'silent' }),
    );
    for (const c of CASES) {
      await platform.context.analytics.client.command({
        query: `ALTER TABLE ${c.table} ADD CONSTRAINT IF NOT EXISTS quarantine_test CHECK ${c.refuse}`,
      });
    }
    await bus().subscribe({
      groupId: `quarantine-test-letters-${run}`,
      topics: [TOPICS.deadLetters],
      handleBatch: (batch) => {
        letters.push(...batch.messages);
        return Promise.resolve();
      },
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await stopLocalServices(stateDir, ['clickhouse']).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('on every consumed topic: the refused message goes to dead-letters after its attempts, the lone surrogate at once, and every good one lands once', async () => {
    expect(bus().kind).toBe('embedded');
    const published = CASES.map((c) => {
      const good = Array.from({ length: 6 }, () => randomUUID());
      const refused = c.message(randomUUID(), true);
      const surrogate = c.message(randomUUID()).replace(c.surrogateIn, `${c.surrogateIn}${LONE_SURROGATE}`);
      // One publish, so the bad ones share batches with good ones; two more good ones after them.
      return {
        c,
        good,
        refused,
        surrogate,
        values: [
          c.message(good[0]!),
          c.message(good[1]!),
          refused,
          c.message(good[2]!),
          surrogate,
          c.message(good[3]!),
        ],
      };
    });
    for (const p of published) await publish(p.c, p.values);
    for (const p of published) await publish(p.c, [p.c.message(p.good[4]!), p.c.message(p.good[5]!)]);

    for (const { c, good, refused, surrogate } of published) {
      await waitForProgress(`${c.group} to read past everything on ${c.topic}`, () => lag(c), { stallMs: 120_000 });
      expect(await rowsPerId(c, good), c.topic).toEqual(Object.fromEntries(good.map((id) => [id, 1])));
      const quarantined = await waitFor(
        `the quarantined ${c.topic} message on dead-letters`,
        () => letters.find((l) => l.value.toString() === refused),
        { timeoutMs: 60_000 },
      );
      expect(quarantined.headers, c.topic).toMatchObject({
        [DEAD_LETTER_HEADERS.sourceTopic]: c.topic,
        [DEAD_LETTER_HEADERS.consumerGroup]: c.group,
        [DEAD_LETTER_HEADERS.attempts]: '3',
        [DEAD_LETTER_HEADERS.sourceKey]: c.key,
        [DEAD_LETTER_HEADERS.reason]: expect.stringMatching(
          new RegExp(`^quarantined by ${c.group} after 3 attempts: .*quarantine_test`),
        ) as unknown,
      });
      expect(quarantined.headers[DEAD_LETTER_HEADERS.origin]).toBe(
        `${c.topic}/${quarantined.headers[DEAD_LETTER_HEADERS.sourcePartition]}/${quarantined.headers[DEAD_LETTER_HEADERS.sourceOffset]}`,
      );
      // Refused by the consumer's own schema check, with the field named: no retries needed.
      const refusedAtOnce = await waitFor(
        `the ${c.topic} message with a lone surrogate on dead-letters`,
        () => letters.find((l) => l.value.toString() === surrogate),
        { timeoutMs: 60_000 },
      );
      expect(refusedAtOnce.headers[DEAD_LETTER_HEADERS.errors], c.topic).toMatch(/well-formed Unicode/);
    }
    // Copied into ClickHouse's dead_letters table too, with the group in the reason.
    await waitFor(
      'the quarantined letters in dead_letters',
      async () => {
        const rows = await query<{ n: string }>(
          `SELECT count() AS n FROM dead_letters WHERE reason LIKE 'quarantined by %'`,
        );
        return Number(rows[0]!.n) >= CASES.length;
      },
      { timeoutMs: 60_000 },
    );
  }, 600_000);

  it('ClickHouse stopped for 60 s quarantines nothing and loses nothing', async () => {
    const before = await quarantinedCount();
    const lettersBefore = letters.length;
    await stopLocalServices(stateDir, ['clickhouse']);
    const good = new Map(CASES.map((c) => [c, Array.from({ length: 5 }, () => randomUUID())]));
    try {
      for (const [c, ids] of good)
        await publish(
          c,
          ids.map((id) => c.message(id)),
        );
      // Every sink group found ClickHouse away, and took it for what it is.
      await waitFor(
        'every sink group to fail transiently',
        async () => {
          const failures = await metric('livepulse_bus_handler_failures_total');
          return CASES.every((c) =>
            failures.some(
              (v) =>
                v.labels.group === c.group &&
                v.labels.topic === c.topic &&
                v.labels.kind === 'transient' &&
                v.value > 0,
            ),
          );
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      // The outage itself: a fixed minute, as the issue describes, not a bound on anything.
      await sleep(60_000);
      expect(await quarantinedCount()).toBe(before);
    } finally {
      await relaunchLocalService('clickhouse', stateDir, clickhousePort);
    }
    for (const [c, ids] of good) {
      await waitForProgress(`${c.group} to catch up on ${c.topic} after ClickHouse came back`, () => lag(c), {
        stallMs: 120_000,
      });
      expect(await rowsPerId(c, ids), c.topic).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    }
    expect(await quarantinedCount()).toBe(before);
    expect(
      letters.slice(lettersBefore).filter((l) => l.headers[DEAD_LETTER_HEADERS.consumerGroup] !== undefined),
    ).toEqual([]);
  }, 600_000);
});
