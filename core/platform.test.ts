import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startPlatform, type PlatformContext, type ServiceDefinition } from './platform.ts';

describe('a service that cannot go on', () => {
  it('stops the platform (every service, the HTTP server) and reports the failure for the process to exit non-zero', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-platform-fail-'));
    let context: PlatformContext | null = null;
    const stopped: string[] = [];
    const service = (name: string, keep?: (c: PlatformContext) => void): ServiceDefinition => ({
      name,
      description: name,
      start(c) {
        keep?.(c);
        return Promise.resolve({
          stop: () => {
            stopped.push(name);
            return Promise.resolve();
          },
        });
      },
    });
    const platform = await startPlatform(
      loadConfig({ PORT: '0', LOG_LEVEL: 'silent', LIVEPULSE_DATA_DIR: dataDir }),
      [service('steady'), service('crashing', (c) => (context = c))],
      createLogger('silent'),
    );
    try {
      expect((await fetch(`${platform.url}/healthz`)).status).toBe(200);
      const error = new Error('workers keep crashing');
      context!.fail(error);
      context!.fail(new Error('a second report changes nothing'));
      expect(await platform.failed).toBe(error);
      expect(stopped).toEqual(['crashing', 'steady']);
      await expect(fetch(`${platform.url}/healthz`)).rejects.toThrow();
    } finally {
      await platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
