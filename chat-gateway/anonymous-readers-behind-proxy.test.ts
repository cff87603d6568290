import { describe, expect, it } from 'vitest';
import { ChatClient, startChatGateway } from './testing/chat-test-kit.ts';

/** What each anonymous connection got, all sent with `X-Forwarded-For: forwardedFor`. */
async function connectAnonymously(url: string, forwardedFor: string, attempts: number): Promise<string[]> {
  const outcomes = [];
  for (let i = 0; i < attempts; i++) {
    try {
      const c = await ChatClient.connect(url, undefined, { headers: { 'x-forwarded-for': forwardedFor } });
      c.close();
      outcomes.push('connected');
    } catch (error) {
      outcomes.push((error as { data: { reason: string } }).data.reason);
    }
  }
  return outcomes;
}

/** One gateway at a time: chDB allows one data directory per process. */
async function withGateway(env: Record<string, string>, run: (url: string) => Promise<void>): Promise<void> {
  const gateway = await startChatGateway({ CHAT_CONNECTIONS_PER_MINUTE: '2', ...env });
  try {
    await run(gateway.url);
  } finally {
    await gateway.stop();
  }
}

describe('anonymous readers and X-Forwarded-For', () => {
  it('counts each reader behind a trusted proxy under its own address', async () => {
    await withGateway({ LIVEPULSE_TRUSTED_PROXIES: '127.0.0.1' }, async (url) => {
      expect(await connectAnonymously(url, '198.51.100.1', 3)).toEqual(['connected', 'connected', 'rate_limited']);
      expect(await connectAnonymously(url, '198.51.100.2', 1)).toEqual(['connected']);
    });
  });

  it('believes nobody by default: every connection counts under the address it comes from', async () => {
    await withGateway({}, async (url) => {
      expect(await connectAnonymously(url, '198.51.100.1', 2)).toEqual(['connected', 'connected']);
      expect(await connectAnonymously(url, '198.51.100.2', 1)).toEqual(['rate_limited']);
    });
  });
});
