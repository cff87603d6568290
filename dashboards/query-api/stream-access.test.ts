import { describe, expect, it } from 'vitest';
import { chooseStreamProperty } from './stream-access.ts';

/** Who may read a stream is decided by the registry (core/streams/stream-ownership.test.ts); this picks the data. */
describe('chooseStreamProperty', () => {
  const rows = (...properties: string[]) => properties.map((property_id) => ({ property_id }));

  it.each([
    ['one property', rows('p1'), undefined, 'p1'],
    ['one property under two creator hints', rows('p1', 'p1'), undefined, 'p1'],
    ['a named property among two', rows('p1', 'p2'), 'p2', 'p2'],
  ] as const)('%s', (_what, found, property, expected) => {
    expect(chooseStreamProperty('s1', [...found], property)).toBe(expected);
  });

  it.each([
    ['no data: 404', rows(), undefined, 404, 'not_found'],
    ['no data in the named property: 404', rows('p1'), 'p2', 404, 'not_found'],
    ['two properties, none named: 409', rows('p1', 'p2'), undefined, 409, 'ambiguous_stream'],
  ] as const)('%s', (_what, found, property, statusCode, code) => {
    expect(() => chooseStreamProperty('s1', [...found], property)).toThrow(
      expect.objectContaining({ statusCode, code }) as Error,
    );
  });
});
