import { describe, expect, it } from 'vitest';
import { originAllowed, presentedWriteKey, WriteKeyDirectory } from './write-keys.ts';

describe('presentedWriteKey', () => {
  it.each([
    ['a bearer header', 'Bearer wk_live_123', undefined, { ok: true, key: 'wk_live_123' }],
    ['a lower-case scheme', 'bearer wk_live_123', undefined, { ok: true, key: 'wk_live_123' }],
    ['the query string', undefined, 'wk_q', { ok: true, key: 'wk_q' }],
    ['the header over the query', 'Bearer wk_h', 'wk_q', { ok: true, key: 'wk_h' }],
  ])('takes the key from %s', (_what, header, query, expected) => {
    expect(presentedWriteKey(header, query)).toEqual(expected);
  });

  it.each([
    ['nothing', undefined, undefined, /missing write key/],
    ['an empty query key', undefined, '', /missing write key/],
    ['Basic auth', 'Basic dXNlcjpwYXNz', undefined, /must be "Bearer <write key>"/],
    ['a bare token', 'wk_live_123', undefined, /must be "Bearer <write key>"/],
    ['a bearer without key', 'Bearer ', undefined, /must be "Bearer <write key>"/],
  ])('refuses %s', (_what, header, query, reason) => {
    const presented = presentedWriteKey(header, query);
    expect(presented.ok).toBe(false);
    if (!presented.ok) expect(presented.reason).toMatch(reason);
  });
});

describe('originAllowed', () => {
  it.each([
    ['https://shop.example', ['*'], true],
    ['https://shop.example', ['https://shop.example'], true],
    ['https://Shop.Example', ['https://shop.example'], true],
    ['http://shop.example', ['https://shop.example'], false],
    ['https://shop.example:8443', ['https://shop.example'], false],
    ['https://eu.cdn.example', ['https://*.cdn.example'], true],
    ['https://a.b.cdn.example', ['https://*.cdn.example'], true],
    ['https://cdn.example', ['https://*.cdn.example'], false],
    ['https://evilcdn.example', ['https://*.cdn.example'], false],
    ['https://eu.cdn.example:8443', ['https://*.cdn.example:8443'], true],
    ['https://eu.cdn.example', ['https://*.cdn.example:8443'], false],
    ['null', ['https://shop.example'], false],
    ['https://other.example', [], false],
  ])('%s against %j: %s', (origin, allowed, expected) => {
    expect(originAllowed(origin, allowed)).toBe(expected);
  });
});

describe('WriteKeyDirectory', () => {
  const directory = new WriteKeyDirectory(
    [
      { key: 'wk_shop_0123456789', propertyId: 'shop' },
      { key: 'wk_blog_0123456789', propertyId: 'blog' },
    ],
    { shop: ['https://shop.example'] },
  );

  it('resolves known keys to their property and origins, and nothing else', () => {
    expect(directory.resolve('wk_shop_0123456789')).toEqual({
      propertyId: 'shop',
      allowedOrigins: ['https://shop.example'],
    });
    expect(directory.resolve('wk_blog_0123456789')).toEqual({ propertyId: 'blog', allowedOrigins: ['*'] });
    expect(directory.resolve('wk_shop_012345678')).toBeUndefined();
  });

  it('answers keyless preflights for the union of every key', () => {
    expect(directory.anyKeyAllows('https://anything.example')).toBe(true);
    expect(
      new WriteKeyDirectory([{ key: 'k'.repeat(16), propertyId: 'shop' }], {
        shop: ['https://shop.example'],
      }).anyKeyAllows('https://x.example'),
    ).toBe(false);
  });
});
