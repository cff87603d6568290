import { describe, expect, it } from 'vitest';
import type { ChatMessage, ChatVerdict } from '../../core/schemas/chat.ts';
import { ChatWindow } from './chat-window.ts';
import { planRun, type ScheduleSettings } from './prompt-schedule.ts';

const T0 = Date.parse('2026-05-01T20:00:00Z');

function chat(id: string, decision: ChatMessage['heuristic_decision'], user = 'u1', at = T0): ChatMessage {
  return {
    schema_v: 1,
    message_id: id,
    stream_id: 's1',
    user_id: user,
    display_name: user,
    text: `text of ${id}`,
    sent_at: at,
    heuristic_decision: decision,
    flags: [],
  };
}
function verdict(action: ChatVerdict['action'], target: { messageId?: string; userId?: string }): ChatVerdict {
  return {
    schema_v: 1,
    verdict_id: `v-${action}`,
    stream_id: 's1',
    source: 'moderator',
    action,
    reason: 'test',
    flags: [],
    decided_at: T0 + 1_000,
    ...(target.messageId && { message_id: target.messageId }),
    ...(target.userId && { target_user_id: target.userId }),
  };
}

describe('ChatWindow: what passed moderation', () => {
  it.each<[string, Array<ChatMessage | ChatVerdict>, string[]]>([
    ['a delivered message counts', [chat('a', 'allow')], ['a']],
    ['a blocked message never does', [chat('a', 'block')], []],
    ['a held message waits', [chat('a', 'hold')], []],
    ['a held message counts once released', [chat('a', 'hold'), verdict('release', { messageId: 'a' })], ['a']],
    [
      'a held message denied never does',
      [chat('a', 'hold'), verdict('deny', { messageId: 'a' }), verdict('release', { messageId: 'a' })],
      [],
    ],
    [
      'a delivered message the AI or a moderator removes leaves',
      [chat('a', 'allow'), chat('b', 'allow'), verdict('remove', { messageId: 'a' })],
      ['b'],
    ],
    [
      'a removal that arrives before its message still applies',
      [verdict('remove', { messageId: 'a' }), chat('a', 'allow')],
      [],
    ],
    [
      'a ban takes the user’s messages out',
      [
        chat('a', 'allow', 'bad'),
        chat('b', 'allow', 'good'),
        chat('c', 'hold', 'bad'),
        verdict('ban', { userId: 'bad' }),
        verdict('release', { messageId: 'c' }),
      ],
      ['b'],
    ],
    ['a timeout does too', [chat('a', 'allow', 'bad'), verdict('timeout', { userId: 'bad' })], []],
    ['other actions change nothing', [chat('a', 'allow'), verdict('modes', {})], ['a']],
  ])('%s', (_name, events, expected) => {
    const window = new ChatWindow();
    for (const event of events) {
      if ('message_id' in event && 'text' in event) window.observeMessage(event);
      else window.observeVerdict(event);
    }
    expect(window.unsuggestedIn(T0 - 1, T0 + 1).map((m) => m.messageId)).toEqual(expected);
  });

  it('leaves out suggested messages and forgets messages older than the window', () => {
    const window = new ChatWindow();
    window.observeMessage(chat('old', 'allow', 'u1', T0 - 100_000));
    window.observeMessage(chat('used', 'allow', 'u1', T0));
    window.observeMessage(chat('new', 'allow', 'u1', T0));
    window.markSuggested(['used']);
    window.prune(T0 - 90_000);
    expect(window.unsuggestedIn(0, T0 + 1).map((m) => m.messageId)).toEqual(['new']);
  });
});

describe('planRun: cadence and quiet chat', () => {
  const settings: ScheduleSettings = { windowMs: 90_000, intervalMs: 30_000, minMessages: 5 };
  it.each([
    ['not yet due', T0 + 10_000, 50, { run: false, reason: 'not_due', nextRunAt: T0 + 10_000 }],
    ['due with enough new chat', T0, 5, { run: true, windowStart: T0 - 90_000, windowEnd: T0, nextRunAt: T0 + 30_000 }],
    ['due but quiet: skipped until the next interval', T0, 4, { run: false, reason: 'quiet', nextRunAt: T0 + 30_000 }],
    [
      'overdue runs from now',
      T0 - 45_000,
      9,
      { run: true, windowStart: T0 - 90_000, windowEnd: T0, nextRunAt: T0 + 30_000 },
    ],
  ])('%s', (_name, nextRunAt, newMessages, expected) => {
    expect(planRun(nextRunAt, () => newMessages, T0, settings)).toEqual(expected);
  });

  it('counts only the window that closes', () => {
    const asked: Array<[number, number]> = [];
    planRun(T0, (start, end) => (asked.push([start, end]), 0), T0, settings);
    expect(asked).toEqual([[T0 - 90_000, T0]]);
  });
});
