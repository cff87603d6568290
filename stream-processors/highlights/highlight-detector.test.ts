import { describe, expect, it } from 'vitest';
import type { MessageBatch } from '../../core/bus/bus.ts';
import type { ChatMessage } from '../../core/schemas/chat.ts';
import { highlightValidator } from '../../core/schemas/highlight.ts';
import { HighlightDetector } from './highlight-detector.ts';
import { DEFAULT_DETECTOR_SETTINGS } from './spike-detector.ts';
import { ViewerCounts } from './viewer-counts.ts';

const T0 = Date.parse('2026-05-01T20:00:00.000Z');
const WALL = Date.parse('2026-05-01T20:05:00.000Z');
let offset = 0;

function chat(
  streamId: string,
  sentAt: number,
  userId: string,
  text: string,
  decision: ChatMessage['heuristic_decision'] = 'allow',
): ChatMessage {
  return {
    schema_v: 1,
    message_id: `m${offset}`,
    stream_id: streamId,
    user_id: userId,
    display_name: userId,
    text,
    sent_at: sentAt,
    heuristic_decision: decision,
    flags: [],
  };
}

function batch(values: unknown[]): MessageBatch {
  const first = offset;
  const messages = values.map((value) => ({
    topic: 'chat.messages',
    partition: 0,
    offset: String(offset++),
    key: 's',
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: {},
    timestamp: 0,
  }));
  return { topic: 'chat.messages', partition: 0, messages, firstOffset: String(first), lastOffset: String(offset - 1) };
}

/** Two minutes of calm chat (8 messages per 5 s from 6 users), then 10 s of a burst. */
function scenario(streamId: string, burstAtMs: number) {
  const calm = [];
  for (let t = T0; t < burstAtMs; t += 625) calm.push(chat(streamId, t, `u${(t / 625) % 6}`, 'nice'));
  const burst = [];
  for (let i = 0; i < 50; i++)
    burst.push(chat(streamId, burstAtMs + i * 100, `fan${i % 30}`, i % 2 ? 'CLIP IT' : 'no way PogChamp'));
  const after = [chat(streamId, burstAtMs + 20_000, 'u1', 'wow')];
  return { calm, burst, after };
}

describe('HighlightDetector', () => {
  it('finds a chat spike in a stream of chat batches and reports the window around it', () => {
    const detector = new HighlightDetector(DEFAULT_DETECTOR_SETTINGS, new ViewerCounts(), {
      allowedLatenessMs: 2_000,
      maxEmptyBuckets: 24,
    });
    const burstAt = T0 + 120_000;
    const { calm, burst, after } = scenario('st-1', burstAt);
    const outputs = [
      detector.handleChat(batch(calm), WALL),
      detector.handleChat(batch(burst), WALL),
      detector.handleChat(batch(after), WALL),
    ];
    const highlights = outputs.flatMap((o) => o.highlights);
    expect(highlights).toHaveLength(1);
    expect(highlightValidator.errors(highlights[0])).toEqual([]);
    expect(highlights[0]).toMatchObject({ stream_id: 'st-1', start: burstAt - 20_000, end: burstAt + 10_000 });
    expect(highlights[0]!.reasons.some((r) => r.startsWith('hype: 100%'))).toBe(true);
  });

  it('does not count blocked messages, dead-letters invalid ones, and ignores a redelivered batch', () => {
    const detector = new HighlightDetector(DEFAULT_DETECTOR_SETTINGS, new ViewerCounts(), {
      allowedLatenessMs: 2_000,
      maxEmptyBuckets: 24,
    });
    const burstAt = T0 + 120_000;
    const { calm, burst, after } = scenario('st-2', burstAt);
    detector.handleChat(batch(calm), WALL);
    const spam = batch([...burst.map((m) => ({ ...m, heuristic_decision: 'block' })), 'not json']);
    const output = detector.handleChat(spam, WALL);
    expect(output.deadLetters).toHaveLength(1);
    expect(output.deadLetters[0]).toMatchObject({ sourceTopic: 'chat.messages', reason: 'chat message is invalid' });
    expect(detector.handleChat(batch(after), WALL).highlights).toEqual([]);

    const again = new HighlightDetector(DEFAULT_DETECTOR_SETTINGS, new ViewerCounts(), {
      allowedLatenessMs: 2_000,
      maxEmptyBuckets: 24,
    });
    const calmBatch = batch(calm);
    again.handleChat(calmBatch, WALL);
    const burstBatch = batch(burst);
    again.handleChat(burstBatch, WALL);
    // The same batch again (a redelivery) adds nothing: the burst bucket still holds 50 messages.
    again.handleChat(burstBatch, WALL);
    const [highlight] = again.handleChat(batch(after), WALL).highlights;
    expect(highlight!.reasons[0]).toMatch(/ 50 messages in 5 s/);
  });

  it('reads viewers from the window covering each bucket, never one that only begins at its end', () => {
    // A window that has just begun is reported by some partitions only: its count is partial.
    const asked: number[] = [];
    class RecordingCounts extends ViewerCounts {
      override at(streamId: string, atMs: number): number | undefined {
        asked.push(atMs - T0);
        return undefined;
      }
    }
    const detector = new HighlightDetector(DEFAULT_DETECTOR_SETTINGS, new RecordingCounts(), {
      allowedLatenessMs: 2_000,
      maxEmptyBuckets: 24,
    });
    detector.handleChat(batch([chat('st-4', T0, 'u1', 'hi'), chat('st-4', T0 + 30_000, 'u2', 'hello')]), WALL);
    expect(asked.slice(0, 3)).toEqual([4_999, 9_999, 14_999]);
  });

  it('closes quiet streams on ticks and forgets them when idle', () => {
    const detector = new HighlightDetector(DEFAULT_DETECTOR_SETTINGS, new ViewerCounts(), {
      allowedLatenessMs: 2_000,
      maxEmptyBuckets: 24,
    });
    detector.handleChat(batch([chat('st-3', T0, 'a', 'hi')]), WALL);
    expect(detector.tick(WALL + 12_000, 60_000).bucketsClosed).toBe(2);
    expect(detector.trackedStreams).toBe(1);
    detector.tick(WALL + 61_000, 60_000);
    expect(detector.trackedStreams).toBe(0);
  });
});
