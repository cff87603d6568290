import Fastify from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startPlatform, type ServiceDefinition } from '../platform.ts';
import { clientAddress, parseTrustedProxies, trustedProxyRanges, trustProxyOption } from './trusted-proxies.ts';

describe('parseTrustedProxies', () => {
  it.each([
    ['', []],
    ['10.0.0.1', ['10.0.0.1']],
    [' 10.0.0.0/8 , 192.168.1.7,loopback ', ['10.0.0.0/8', '192.168.1.7', 'loopback']],
    ['2001:db8::/32, ::1', ['2001:db8::/32', '::1']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
  ])('reads %j', (raw, proxies) => {
    expect(parseTrustedProxies(raw)).toEqual({ ok: true, proxies });
  });

  it.each([
    ['true', /"true" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal/],
    ['lb.example.com', /"lb.example.com" is not an IP address/],
    ['10.0.0.0/33', /"10.0.0.0\/33": the prefix length must be 0–32/],
    ['::1/129', /"::1\/129": the prefix length must be 0–128/],
    ['10.0.0.0/8/8', /is not an IP address/],
    ['10.0.0.0/x', /the prefix length must be/],
  ])('refuses %j', (raw, problem) => {
    const parsed = parseTrustedProxies(raw);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems).toEqual([expect.stringMatching(problem)]);
  });

  it('names the variable in the configuration error', () => {
    expect(() => loadConfig({ LIVEPULSE_TRUSTED_PROXIES: '10.0.0.1, nonsense' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIVEPULSE_TRUSTED_PROXIES: 'nonsense' })).toThrow(
      /LIVEPULSE_TRUSTED_PROXIES: "nonsense" is not an IP address/,
    );
    expect(loadConfig({ LIVEPULSE_TRUSTED_PROXIES: '10.0.0.0/8' }).http.trustedProxies).toEqual(['10.0.0.0/8']);
  });
});

/** A service that answers with the client address the platform's HTTP server believes. */
const addressEcho: ServiceDefinition = {
  name: 'address-echo',
  description: 'answers GET /address with request.ip',
  start({ http }) {
    http.get('/address', (request) => Promise.resolve({ ip: request.ip }));
    return Promise.resolve({ stop: () => Promise.resolve() });
  },
};

async function addressSeen(env: Record<string, string>, forwardedFor: string): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-trusted-proxies-'));
  const platform = await startPlatform(
    loadConfig({ PORT: '0', LOG_LEVEL: 'silent', LIVEPULSE_DATA_DIR: dataDir, ...env }),
    [addressEcho],
    createLogger('silent'),
  );
  try {
    const response = await fetch(`${platform.url}/address`, { headers: { 'x-forwarded-for': forwardedFor } });
    return ((await response.json()) as { ip: string }).ip;
  } finally {
    await platform.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('the platform HTTP server and X-Forwarded-For', () => {
  it('believes nobody by default: a client cannot choose the address it is counted under', async () => {
    expect(await addressSeen({}, '198.51.100.7')).toBe('127.0.0.1');
  });

  it('believes the configured proxies, up to the first hop that is not one', async () => {
    expect(await addressSeen({ LIVEPULSE_TRUSTED_PROXIES: '127.0.0.1' }, '198.51.100.7')).toBe('198.51.100.7');
    expect(await addressSeen({ LIVEPULSE_TRUSTED_PROXIES: '127.0.0.0/8' }, '198.51.100.7, 203.0.113.9')).toBe(
      '203.0.113.9',
    );
    expect(await addressSeen({ LIVEPULSE_TRUSTED_PROXIES: '10.0.0.0/8' }, '198.51.100.7')).toBe('127.0.0.1');
  });
});

describe('clientAddress (socket.io handshakes) walks X-Forwarded-For as Fastify does', () => {
  it.each([
    [[], '203.0.113.9', '198.51.100.7'],
    [['203.0.113.9'], '203.0.113.9', '198.51.100.7'],
    [['203.0.113.0/24'], '203.0.113.9', '198.51.100.7, 203.0.113.5'],
    [['203.0.113.9'], '203.0.113.9', '198.51.100.7, 10.1.2.3'],
    [['203.0.113.9', '10.0.0.0/8'], '203.0.113.9', '198.51.100.7, 10.1.2.3'],
    [['uniquelocal'], '10.0.0.2', '198.51.100.7'],
    [['loopback'], '127.0.0.1', 'not-an-address, 198.51.100.7'],
    [['loopback'], '127.0.0.1', ''],
    [['10.0.0.0/8'], '203.0.113.9', '198.51.100.7'],
    [['::1'], '::1', '2001:db8::7'],
    [['127.0.0.1'], '::ffff:127.0.0.1', '198.51.100.7'],
  ])('trusting %j, from %s with %j', async (proxies, peer, forwardedFor) => {
    const app = Fastify({ trustProxy: trustProxyOption(proxies) });
    app.get('/', (request) => Promise.resolve(request.ip));
    const fastifySays = (
      await app.inject({
        url: '/',
        remoteAddress: peer,
        headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      })
    ).body;
    await app.close();
    expect(clientAddress(peer, forwardedFor || undefined, trustedProxyRanges(proxies))).toBe(fastifySays);
  });
});
