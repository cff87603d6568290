import { describe, expect, it } from 'vitest';
import type { Highlight } from '../core/schemas/highlight.ts';
import { readHighlight } from './highlight-intake.ts';

const highlight: Highlight = {
  schema_v: 1,
  highlight_id: 'hl_0123',
  stream_id: 'st-AbC123',
  start: 1_790_000_000_000,
  end: 1_790_000_030_000,
  score: 4.2,
  reasons: ['chat_spike: z=4.2'],
  detected_at: 1_790_000_040_000,
};

const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('readHighlight', () => {
  it('accepts a valid highlight', () => {
    expect(readHighlight(encode(highlight))).toEqual({ highlight });
  });

  it.each([
    ['not JSON', Buffer.from('{'), /not JSON/],
    ['missing a field', encode({ ...highlight, stream_id: undefined }), /invalid/],
    ['with an empty window', encode({ ...highlight, end: highlight.start }), /window is empty/],
    ['longer than 60 s', encode({ ...highlight, end: highlight.start + 61_000 }), /at most 60000 ms/],
    ['with a stream id that could escape a key', encode({ ...highlight, stream_id: 'a b' }), /invalid/],
  ])('refuses a highlight %s', (_what, value, reason) => {
    const read = readHighlight(value);
    expect('reason' in read && read.reason).toMatch(reason);
  });
});
