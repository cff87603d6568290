import { describe, expect, it } from 'vitest';
import { defaultChannelSettings } from '../../core/moderation/channel-settings.ts';
import { DUPLICATE_WINDOW_MS, isNearDuplicate } from '../../core/moderation/chat-modes.ts';
import { ChatModerator, compileChannelRules } from '../../core/moderation/moderate-message.ts';
import { foldForMatching } from '../../core/moderation/text-folding.ts';
import type { ModerationDecision } from '../../core/schemas/chat.ts';
import { isHype } from '../../stream-processors/highlights/chat-signals.ts';
import {
  DEFAULT_DETECTOR_SETTINGS,
  detectInBucket,
  initialDetectorState,
  type ChatBucket,
} from '../../stream-processors/highlights/spike-detector.ts';
import { CHAT_LINE_KINDS, hypeSpikeTimes, planChatScript, type ChatScript, type Persona } from './chat-scripts.ts';

const SPIKES = [65_000, 215_000, 365_000];
const options = { chatters: 30, durationMs: 480_000, seed: 11, hypeSpikesAtMs: SPIKES };
const script = planChatScript(options);
const moderator = new ChatModerator();
const defaultRules = compileChannelRules(defaultChannelSettings({ anonymousViewers: true }), [], 0);

/** What the gateway publishes: every line but the deliberate repeats, which it refuses as duplicates. */
const published = (s: ChatScript) => s.lines.filter((line) => line.repeatOf === undefined);

/** 5 s buckets of the published lines, as the highlight detector counts them, from `startMs` on. */
function buckets(s: ChatScript, startMs: number, viewers?: number): ChatBucket[] {
  const bucketMs = DEFAULT_DETECTOR_SETTINGS.bucketMs;
  const byStart = new Map<number, { messages: number; chatters: Set<number>; hype: number }>();
  for (const line of published(s)) {
    const start = Math.floor((startMs + line.atMs) / bucketMs) * bucketMs;
    const bucket = byStart.get(start) ?? { messages: 0, chatters: new Set(), hype: 0 };
    bucket.messages++;
    bucket.chatters.add(line.chatter);
    if (isHype(line.text)) bucket.hype++;
    byStart.set(start, bucket);
  }
  const first = Math.min(...byStart.keys());
  const last = Math.max(...byStart.keys());
  const result: ChatBucket[] = [];
  for (let start = first; start <= last; start += bucketMs) {
    const b = byStart.get(start);
    result.push({
      startMs: start,
      messages: b?.messages ?? 0,
      uniqueChatters: b?.chatters.size ?? 0,
      hypeMessages: b?.hype ?? 0,
      ...(viewers !== undefined && { viewers }),
    });
  }
  return result;
}

describe('planChatScript', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(planChatScript(options)).toEqual(script);
    expect(planChatScript({ ...options, seed: 12 }).lines).not.toEqual(script.lines);
  });

  it.each([
    [4, { spammer: 1, troll: 1, curious: 1, regular: 1 }],
    [10, { spammer: 1, troll: 1, curious: 3, regular: 5 }],
    [30, { spammer: 3, troll: 3, curious: 8, regular: 16 }],
  ] as const)('casts %i chatters as %o', (chatters, expected) => {
    const cast = planChatScript({ ...options, chatters }).chatters;
    const counts: Partial<Record<Persona, number>> = {};
    for (const c of cast) counts[c.persona] = (counts[c.persona] ?? 0) + 1;
    expect(counts).toEqual(expected);
    expect(new Set(cast.map((c) => c.userId)).size).toBe(chatters);
  });

  it('refuses a room too small to hold every persona', () => {
    expect(() => planChatScript({ ...options, chatters: 3 })).toThrow(RangeError);
  });

  it('speaks every kind, in time order, within the duration, each kind from the persona it belongs to', () => {
    expect(new Set(script.lines.map((l) => l.kind))).toEqual(new Set(CHAT_LINE_KINDS));
    for (let i = 1; i < script.lines.length; i++)
      expect(script.lines[i]!.atMs).toBeGreaterThanOrEqual(script.lines[i - 1]!.atMs);
    expect(script.lines.at(-1)!.atMs).toBeLessThan(options.durationMs);
    const personaOf = (chatter: number) => script.chatters[chatter]!.persona;
    expect(new Set(script.lines.filter((l) => l.kind === 'spam').map((l) => personaOf(l.chatter)))).toEqual(
      new Set(['spammer']),
    );
    expect(new Set(script.lines.filter((l) => l.kind === 'abuse').map((l) => personaOf(l.chatter)))).toEqual(
      new Set(['troll']),
    );
    expect(script.lines.filter((l) => l.kind === 'hype').every((l) => personaOf(l.chatter) !== 'troll')).toBe(true);
  });

  it.each([
    ['chat', ['allow']],
    ['question', ['allow']],
    ['hype', ['allow']],
    ['spam', ['hold']],
    // Threats and self-harm encouragement are held; directed insults pass the default policy and wait for a moderator.
    ['abuse', ['hold', 'allow']],
  ] as const)(
    '%s lines get %o from the inline heuristics at the default policy',
    (kind, decisions: readonly ModerationDecision[]) => {
      const seen = new Set(
        script.lines.filter((l) => l.kind === kind).map((l) => moderator.moderate(l.text, defaultRules).decision),
      );
      expect(seen).toEqual(new Set(decisions));
    },
  );

  it('asks real questions and hypes with hype terms; ordinary chat is not hype', () => {
    expect(script.lines.filter((l) => l.kind === 'question').every((l) => l.text.endsWith('?'))).toBe(true);
    expect(script.lines.filter((l) => l.kind === 'hype').every((l) => isHype(l.text))).toBe(true);
    expect(script.lines.filter((l) => l.kind === 'chat' || l.kind === 'question').some((l) => isHype(l.text))).toBe(
      false,
    );
  });

  it('keeps every chatter under the flood limit and repeats only on purpose', () => {
    for (let chatter = 0; chatter < script.chatters.length; chatter++) {
      const own = script.lines.filter((l) => l.chatter === chatter);
      own.forEach((line, i) => {
        const window = own.filter((l) => l.atMs >= line.atMs && l.atMs < line.atMs + 30_000);
        expect(window.length).toBeLessThanOrEqual(20);
        const recent = own
          .slice(0, i)
          .filter((l) => line.atMs - l.atMs < DUPLICATE_WINDOW_MS)
          .map((l) => foldForMatching(l.text));
        expect(isNearDuplicate(foldForMatching(line.text), recent), `${chatter}: ${line.text}`).toBe(
          line.repeatOf !== undefined,
        );
      });
    }
    const repeats = script.lines.filter((l) => l.repeatOf !== undefined);
    expect(repeats.length).toBeGreaterThan(0);
    for (const repeat of repeats) {
      const original = script.lines[repeat.repeatOf!]!;
      expect(original).toMatchObject({ chatter: repeat.chatter, text: repeat.text, kind: 'spam' });
      expect(repeat.atMs - original.atMs).toBeGreaterThan(0);
    }
  });

  it.each([
    ['with viewer counts', 40, 0],
    ['with viewer counts', 40, 1_234],
    ['with viewer counts', 40, 2_500],
    ['with viewer counts', 40, 4_999],
    ['without viewer counts', undefined, 3_100],
  ])(
    'makes the highlight detector fire at each hype spike and nowhere else (%s, %i ms into a bucket)',
    (_name, viewers, offset) => {
      const startMs = 1_800_000_000_000 + offset;
      let state = initialDetectorState();
      const onsets: number[] = [];
      for (const bucket of buckets(script, startMs, viewers)) {
        const step = detectInBucket(state, bucket, DEFAULT_DETECTOR_SETTINGS);
        if (step.detection) onsets.push(step.detection.onsetMs - startMs);
        state = step.state;
      }
      expect(onsets).toHaveLength(SPIKES.length);
      onsets.forEach((onset, i) => {
        expect(onset).toBeGreaterThanOrEqual(SPIKES[i]! - DEFAULT_DETECTOR_SETTINGS.bucketMs);
        expect(onset).toBeLessThan(SPIKES[i]! + 6_000);
      });
    },
  );
});

describe('hypeSpikeTimes', () => {
  it.each([
    [120_000, { firstAtMs: 65_000, everyMs: 150_000 }, [65_000]],
    [480_000, { firstAtMs: 65_000, everyMs: 150_000 }, [65_000, 215_000, 365_000]],
    [71_000, { firstAtMs: 65_000, everyMs: 150_000 }, [65_000]],
    [70_999, { firstAtMs: 65_000, everyMs: 150_000 }, []],
  ] as const)('over %i ms with %o: %o', (duration, spacing, expected) => {
    expect(hypeSpikeTimes(duration, spacing)).toEqual(expected);
  });
});
