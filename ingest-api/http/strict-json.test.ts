import { describe, expect, it } from 'vitest';
import { MalformedBodyError, nestsDeeperThan, parseStrictJson } from './strict-json.ts';

function reasonOf(body: Buffer | string): string {
  try {
    parseStrictJson(body);
  } catch (error) {
    if (error instanceof MalformedBodyError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('parseStrictJson', () => {
  it.each([
    ['an object', '{"events":[{"a":1}]}', { events: [{ a: 1 }] }],
    ['UTF-8 text', Buffer.from('{"title":"Café — 日本"}'), { title: 'Café — 日本' }],
    ['a harmless constructor key', '{"constructor":"x"}', { constructor: 'x' }],
    ['a key that only contains __proto__', '{"my__proto__":1}', { my__proto__: 1 }],
  ])('accepts %s', (_what, body, expected) => {
    expect(parseStrictJson(body)).toEqual(expected);
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not valid UTF-8/],
    ['an empty body', '', /body is empty/],
    ['whitespace only', '  \n', /body is empty/],
    ['truncated JSON', '{"events":[', /not valid JSON/],
    ['NaN', '{"n":NaN}', /not valid JSON/],
    ['a trailing comma', '{"a":1,}', /not valid JSON/],
    ['__proto__ at the top', '{"__proto__":{"polluted":true}}', /forbidden key __proto__ at \//],
    [
      '__proto__ deep inside',
      '{"events":[{"dimensions":{"__proto__":{"x":1}}}]}',
      /forbidden key __proto__ at \/events\/0\/dimensions/,
    ],
    ['an escaped __proto__', '{"\\u005f_proto__":{}}', /forbidden key __proto__/],
    [
      'constructor.prototype',
      '{"a":{"constructor":{"prototype":{"x":1}}}}',
      /forbidden key constructor\.prototype at \/a/,
    ],
  ])('rejects %s', (_what, body, reason) => {
    expect(reasonOf(body)).toMatch(reason);
  });

  it('walks very deep nesting without overflowing the stack', () => {
    const depth = 100_000;
    const body = `${'{"a":'.repeat(depth)}{"__proto__":1}${'}'.repeat(depth)}`;
    expect(reasonOf(body)).toMatch(/forbidden key __proto__/);
  });
});

describe('nestsDeeperThan', () => {
  it.each([
    [1, 5, false],
    [{ a: 1 }, 1, false],
    [{ a: { b: 1 } }, 1, true],
    [{ a: [1, 2] }, 2, false],
    [[[[[]]]], 3, true],
  ])('%j deeper than %i: %s', (value, max, expected) => {
    expect(nestsDeeperThan(value, max)).toBe(expected);
  });

  it('handles nesting far beyond the call stack', () => {
    const value: unknown = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(nestsDeeperThan(value, 32)).toBe(true);
  });
});
