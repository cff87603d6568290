import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { createValidator } from './validate.ts';
import { illFormedTextErrors, isWellFormedValue } from './well-formed-text.ts';

const HIGH = String.fromCharCode(0xd800);
const LOW = String.fromCharCode(0xdc00);

describe('well-formed Unicode text', () => {
  it.each<[string, unknown, Array<{ path: string; message: RegExp }>]>([
    ['plain text', { a: 'hello', b: ['x', 1, null, true] }, []],
    ['an emoji (a surrogate pair)', { a: 'so good 😀' }, []],
    ['a high surrogate alone', { a: `x${HIGH}y` }, [{ path: '/a', message: /lone surrogate U\+D800 at character 1/ }]],
    ['a low surrogate alone', { a: `${LOW}` }, [{ path: '/a', message: /U\+DC00 at character 0/ }]],
    ['a pair in the wrong order', { a: `${LOW}${HIGH}` }, [{ path: '/a', message: /U\+DC00 at character 0/ }]],
    ['a string at the root', `${HIGH}`, [{ path: '/', message: /well-formed/ }]],
    [
      'deep in a list',
      { events: [{ ok: 'x' }, { dimensions: { cdn: HIGH } }] },
      [{ path: '/events/1/dimensions/cdn', message: /well-formed/ }],
    ],
    ['in a key', { counters: { [`k${HIGH}`]: 1 } }, [{ path: '/counters', message: /has the key "k\\ud800"/ }]],
    [
      'a key with a slash, escaped as a JSON pointer',
      { 'a/b': { '~c': HIGH } },
      [{ path: '/a~1b/~0c', message: /well-formed/ }],
    ],
    [
      'two of them, in document order',
      { a: HIGH, b: { c: LOW } },
      [
        { path: '/a', message: /D800/ },
        { path: '/b/c', message: /DC00/ },
      ],
    ],
  ])('%s', (_what, value, expected) => {
    const errors = illFormedTextErrors(value);
    expect(errors).toEqual(
      expected.map(({ path, message }) => ({ path, message: expect.stringMatching(message) as unknown })),
    );
    expect(isWellFormedValue(value)).toBe(expected.length === 0);
  });

  it('stops at the limit', () => {
    expect(
      illFormedTextErrors(
        Array.from({ length: 50 }, () => HIGH),
        3,
      ),
    ).toHaveLength(3);
  });

  it('walks a deeply nested value without overflowing the stack', () => {
    let value: unknown = HIGH;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(isWellFormedValue(value)).toBe(false);
  });

  it('is part of every validator: the schema alone would accept the string', () => {
    const validator = createValidator(Type.Object({ name: Type.String({ maxLength: 10 }) }));
    expect(validator.check({ name: 'ok' })).toBe(true);
    expect(validator.check({ name: `o${HIGH}` })).toBe(false);
    expect(validator.errors({ name: `o${HIGH}` })).toEqual([
      { path: '/name', message: expect.stringMatching(/well-formed Unicode/) as unknown },
    ]);
  });
});
