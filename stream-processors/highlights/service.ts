import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createChatStore } from '../../core/chat/chat-store/create-chat-store.ts';
import { createChatTokenVerifier } from '../../core/chat/chat-token.ts';
import { batchDedupToken, insertRows } from '../../core/analytics-store/insert.ts';
import type { Subscription } from '../../core/bus/bus.ts';
import { publishDeadLetters } from '../../core/dead-letters.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import type { Highlight } from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { clipId } from '../../core/clips/clip-records.ts';
import { clipProfileFromConfig, profileVersion } from '../../core/clips/clip-profile.ts';
import { aggregatesMessageValidator } from '../../core/analytics/aggregate-messages.ts';
import { clipRequestRoutes } from './clip-request-routes.ts';
import { HighlightDetector } from './highlight-detector.ts';
import { highlightRows } from './highlight-rows.ts';
import { DEFAULT_DETECTOR_SETTINGS, type DetectorSettings } from './spike-detector.ts';
import { ViewerCounts } from './viewer-counts.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

/**
 * highlight-detector: chat spikes and viewer surges into `highlights`, hosts' "clip that"
 * requests into the same topic, and every highlight into ClickHouse.
 *
 * Chat comes from `chat.messages` (keyed by stream, so one member sees all of a stream's chat).
 * Viewer counts come from the viewer-analytics processor's window rows on `analytics.aggregates`;
 * those are keyed by source partition, so every detector reads all of them, in a consumer group
 * of its own (starting from the latest: only current audiences matter).
 */
export const HIGHLIGHT_GROUPS = {
  chat: 'highlight-detector',
  sink: 'highlight-detector.sink',
  viewersPrefix: 'highlight-detector.viewers',
} as const;

/** Chat that is this late (behind its stream's newest message) still counts. */
const ALLOWED_LATENESS_MS = 2_000;
const IDLE_STREAM_MS = 30 * 60_000;

export const highlightDetectorService: ServiceDefinition = {
  name: 'highlight-detector',
  description: 'chat spikes, viewer surges and "clip that" requests into highlights',
  async start(context) {
    const { config, logger, metrics, bus, analytics, liveState } = context;
    const settings: DetectorSettings = {
      ...DEFAULT_DETECTOR_SETTINGS,
      zThreshold: config.highlights.zThreshold,
      minMessages: config.highlights.minMessages,
      minUniqueChatters: config.highlights.minUniqueChatters,
      cooldownMs: config.highlights.cooldownMs,
      preRollMs: config.highlights.preRollMs,
      postRollMs: config.highlights.postRollMs,
    };
    const viewers = new ViewerCounts();
    const detector = new HighlightDetector(settings, viewers, {
      allowedLatenessMs: ALLOWED_LATENESS_MS,
      maxEmptyBuckets: 24,
    });
    const detected = metrics.counter('highlights_detected_total', 'Highlights published, by trigger', ['trigger']);
    const buckets = metrics.counter('highlight_buckets_closed_total', 'Chat buckets scored by the highlight detector');
    const late = metrics.gauge(
      'highlight_late_chat_messages',
      'Chat messages that arrived after their bucket closed (not counted), since start',
    );
    const streams = metrics.gauge('highlight_streams_tracked', 'Streams the highlight detector holds a baseline for');

    // Detections not yet acknowledged by the bus; a failed publish is retried with the next batch or tick.
    let unpublished: Highlight[] = [];
    const publish = async (highlights: Highlight[]) => {
      unpublished.push(...highlights);
      if (unpublished.length === 0) return;
      const sending = unpublished;
      await bus.publish(
        TOPICS.highlights,
        sending.map((h) => ({ key: h.stream_id, value: Buffer.from(JSON.stringify(h)) })),
      );
      unpublished = unpublished.filter((h) => !sending.includes(h));
      for (const h of sending) {
        detected.inc({ trigger: h.reasons.some((r) => r.startsWith('chat_spike')) ? 'chat_spike' : 'viewer_surge' });
        logger.info(
          {
            highlightId: h.highlight_id,
            streamId: h.stream_id,
            start: h.start,
            end: h.end,
            score: h.score,
            reasons: h.reasons,
          },
          'highlight detected',
        );
      }
    };
    const observe = (bucketsClosed: number) => {
      buckets.inc(bucketsClosed);
      late.set(detector.lateMessages);
      streams.set(detector.trackedStreams);
    };

    const version = profileVersion(clipProfileFromConfig(config.clips));
    // Granted moderators may ask for clips: their grants are in the chat store (in embedded mode the gateway's own instance).
    const chatStore = await createChatStore(config, logger);
    await context.http.register(clipRequestRoutes, {
      prefix: '/v1',
      bus,
      liveState,
      staffRoster: chatStore,
      tokens: createChatTokenVerifier(config.auth),
      clipIdOf: (h: Highlight) =>
        clipId({ streamId: h.stream_id, startMs: h.start, endMs: h.end, profileVersion: version }),
    });

    const subscriptions: Subscription[] = [];
    let ticking: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      ticking = ticking
        .then(async () => {
          const output = detector.tick(Date.now(), IDLE_STREAM_MS);
          observe(output.bucketsClosed);
          await publish(output.highlights);
        })
        .catch((error: unknown) => logger.error({ err: error }, 'closing quiet chat buckets failed'));
    }, settings.bucketMs);
    try {
      subscriptions.push(
        await bus.subscribe({
          groupId: `${HIGHLIGHT_GROUPS.viewersPrefix}.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`,
          topics: [TOPICS.analyticsAggregates],
          startFrom: 'latest',
          handleBatch: (batch) => {
            for (const message of batch.messages) {
              const parsed = parseJsonPayload(message.value);
              // Other processors' aggregates share the topic; only viewer window rows matter here.
              if (aggregatesMessageValidator.check(parsed)) viewers.observe(parsed);
            }
            return Promise.resolve();
          },
        }),
      );
      subscriptions.push(
        await bus.subscribe({
          groupId: HIGHLIGHT_GROUPS.chat,
          topics: [TOPICS.chatMessages],
          handleBatch: async (batch) => {
            // Ticks and batches share the detector; running them one at a time keeps its state consistent.
            const run = ticking.then(async () => {
              const output = detector.handleChat(batch, Date.now());
              observe(output.bucketsClosed);
              if (output.deadLetters.length > 0) await publishDeadLetters(bus, output.deadLetters);
              await publish(output.highlights);
            });
            ticking = run.catch(() => undefined);
            await run;
          },
        }),
      );
      subscriptions.push(
        await bus.subscribe({
          groupId: HIGHLIGHT_GROUPS.sink,
          topics: [TOPICS.highlights],
          handleBatch: async (batch) => {
            const { rows, deadLetters } = highlightRows(batch);
            await insertRows(analytics, { table: 'highlights', rows, dedupToken: batchDedupToken(batch) });
            if (deadLetters.length > 0) await publishDeadLetters(bus, deadLetters);
          },
          dependencyCheck: () => analytics.ping(),
        }),
      );
    } catch (error) {
      clearInterval(timer);
      await Promise.allSettled(subscriptions.map((s) => s.stop()));
      await chatStore.close();
      throw error;
    }

    return {
      async stop() {
        clearInterval(timer);
        await Promise.allSettled(subscriptions.map((s) => s.stop()));
        await ticking;
        await chatStore.close();
      },
    };
  },
};
