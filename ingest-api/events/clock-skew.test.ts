import { describe, expect, it } from 'vitest';
import { clockOffsetMs, correctEventTime, FUTURE_TOLERANCE_MS } from './clock-skew.ts';

const receivedAt = 1_800_000_000_000;
const day = 86_400_000;

describe('clockOffsetMs', () => {
  it.each([
    ['no sent_at', {}, 0],
    ['a device 5 s behind', { sentAt: receivedAt - 5_000 }, 5_000],
    ['a device an hour ahead', { sentAt: receivedAt + 3_600_000 }, -3_600_000],
    ['half the round trip is transit, not skew', { sentAt: receivedAt - 5_000, rttMs: 200 }, 4_900],
  ])('%s', (_what, reference, expected) => {
    expect(clockOffsetMs({ receivedAt, ...reference })).toBe(expected);
  });
});

describe('correctEventTime', () => {
  const base = { receivedAt, maxEventAgeMs: day };

  it.each([
    [
      'moves events by the device offset',
      receivedAt - 3_600_000 - 10_000,
      { sentAt: receivedAt - 3_600_000 },
      receivedAt - 10_000,
    ],
    ['keeps device time without sent_at', receivedAt - 30_000, {}, receivedAt - 30_000],
    ['clamps a slightly-future time to the arrival time', receivedAt + 5_000, {}, receivedAt],
    ['accepts an event exactly at the age limit', receivedAt - day, {}, receivedAt - day],
    [
      'fixes a device clock that is years wrong',
      1_600_000_000_000,
      { sentAt: 1_600_000_000_000 + 2_000 },
      receivedAt - 2_000,
    ],
  ])('%s', (_what, viewerTime, reference, expected) => {
    expect(correctEventTime(viewerTime, { ...base, ...reference })).toEqual({ ok: true, eventTime: expected });
  });

  it.each([
    ['in the future without sent_at', receivedAt + FUTURE_TOLERANCE_MS + 1, {}, /is in the future by 60 s/],
    [
      'after the batch was sent',
      receivedAt + 10 * 60_000,
      { sentAt: receivedAt },
      /later than the batch's sent_at by 10 min/,
    ],
    ['older than the age limit', receivedAt - 3 * day, {}, /is 3 days old after clock correction; at most 24 h/],
  ])('rejects an event %s', (_what, viewerTime, reference, message) => {
    const result = correctEventTime(viewerTime, { ...base, ...reference });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.path).toBe('/viewer_time');
      expect(result.error.message).toMatch(message);
    }
  });
});
