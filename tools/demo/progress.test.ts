import { describe, expect, it } from 'vitest';
import type { ChatReport } from '../simulator/chatters.ts';
import { elapsed, statusLine } from './progress.ts';

describe('progress lines', () => {
  it.each([
    [0, '00:00'],
    [59_999, '00:59'],
    [61_000, '01:01'],
    [3_600_000, '60:00'],
    [-5, '00:00'],
  ])('elapsed(%i) is %s', (ms, text) => {
    expect(elapsed(ms)).toBe(text);
  });

  it('sums the chat outcomes and names the blocked ones', () => {
    const counts = (sent: number, delivered: number, held: number, rejected: number) => ({
      sent,
      delivered,
      held,
      rejected,
    });
    const chat: ChatReport = {
      byKind: {
        chat: counts(10, 10, 0, 0),
        question: counts(3, 3, 0, 0),
        spam: counts(4, 0, 2, 2),
        abuse: counts(3, 1, 1, 1),
        hype: counts(20, 20, 0, 0),
      },
      rejections: { duplicate: 2, blocked: 1 },
      removed: 1,
      denied: 3,
      released: 0,
      timeouts: 1,
      prompts: 2,
      clips: 1,
    };
    expect(statusLine({ viewers: 42, chat, highlights: 1, clips: 1, prompts: 2 })).toBe(
      'viewers 42 · chat 40 sent: 34 shown, 3 held, 3 refused (1 blocked) · moderation 1 removed, 3 denied, 1 timeouts · highlights 1 · clips 1 · prompts 2',
    );
    expect(
      statusLine({ viewers: undefined, chat: { ...chat, rejections: {} }, highlights: 0, clips: 0, prompts: 0 }),
    ).toMatch(/^viewers – · chat 40 sent: 34 shown, 3 held, 3 refused · /);
  });
});
