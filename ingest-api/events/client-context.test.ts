import { describe, expect, it } from 'vitest';
import { hashClientIp, truncateIp, UserAgentParser } from './client-context.ts';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  androidTv:
    'Mozilla/5.0 (Linux; Android 9; SHIELD Android TV Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/114.0.5735.196 Mobile Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
};

describe('UserAgentParser', () => {
  const parser = new UserAgentParser();

  it.each([
    ['Chrome on Linux', UA.chromeLinux, { device: 'desktop', os: 'Linux', browser: 'Chrome' }],
    ['Safari on iPhone', UA.iphone, { device: 'mobile', os: 'iOS', browser: 'Mobile Safari' }],
    ['Safari on iPad', UA.ipad, { device: 'tablet', os: 'iOS', browser: 'Mobile Safari' }],
    ['Firefox on Windows', UA.firefoxWindows, { device: 'desktop', os: 'Windows', browser: 'Firefox' }],
    ['no user agent', undefined, {}],
    ['an unrecognisable string', 'curl-ish/0', {}],
  ])('%s', (_what, ua, expected) => {
    expect(parser.parse(ua)).toEqual(expected);
  });

  it('recognises a smart TV', () => {
    expect(parser.parse(UA.androidTv).device).toBe('smarttv');
  });

  it('answers repeated user agents from its cache and stays bounded', () => {
    const small = new UserAgentParser(2);
    const first = small.parse(UA.chromeLinux);
    expect(small.parse(UA.chromeLinux)).toBe(first);
    small.parse(UA.iphone);
    small.parse(UA.ipad);
    // Chrome was least recently used, so it was evicted and is parsed afresh.
    expect(small.parse(UA.chromeLinux)).not.toBe(first);
    expect(small.parse(UA.chromeLinux)).toEqual(first);
  });

  it('caps what it reads of a huge user agent', () => {
    expect(parser.parse(`${UA.chromeLinux}${'x'.repeat(100_000)}`)).toEqual({
      device: 'desktop',
      os: 'Linux',
      browser: 'Chrome',
    });
  });
});

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['not-an-ip', null],
    ['', null],
  ])('%s → %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });
});

describe('hashClientIp', () => {
  const secret = 'test-secret-0123456789';
  const noon = Date.UTC(2027, 0, 15, 12);

  it('never contains the address and is the same for one /24 within a day', () => {
    const a = hashClientIp('203.0.113.77', secret, noon)!;
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toContain('203');
    expect(hashClientIp('203.0.113.5', secret, noon + 3_600_000)).toBe(a);
  });

  it.each([
    ['another network', '198.51.100.7', secret, noon],
    ['the next day', '203.0.113.77', secret, noon + 86_400_000],
    ['another secret', '203.0.113.77', 'other-secret-0123456789', noon],
  ])('differs for %s', (_what, ip, key, at) => {
    expect(hashClientIp(ip, key, at)).not.toBe(hashClientIp('203.0.113.77', secret, noon));
  });

  it('gives nothing for a missing or unparseable address', () => {
    expect(hashClientIp(undefined, secret, noon)).toBeUndefined();
    expect(hashClientIp('garbage', secret, noon)).toBeUndefined();
  });
});
