import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { createApiTokenVerifier } from '../../core/http/api-auth.ts';
import { createLogger } from '../../core/logger.ts';
import { developmentCredentialsBanner, logDevelopmentCredentials } from './development-credentials.ts';

describe('developmentCredentialsBanner', () => {
  it('is nothing without development credentials', () => {
    expect(developmentCredentialsBanner([])).toBeUndefined();
  });

  it.each([
    [undefined, ['  LIVEPULSE_WRITE_KEYS=demo:lp_dev_write_key', '  These are public defaults.']],
    [
      'http://127.0.0.1:8080/live?token=t',
      [
        '  LIVEPULSE_WRITE_KEYS=demo:lp_dev_write_key',
        '  live board as a development admin (12 h):',
        '  http://127.0.0.1:8080/live?token=t',
        '  These are public defaults.',
      ],
    ],
  ])('lists the credentials and, with a live board, its URL (%s)', (url, lines) => {
    const banner = developmentCredentialsBanner(['LIVEPULSE_WRITE_KEYS=demo:lp_dev_write_key'], url)!;
    const body = banner
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => (line.startsWith('  These') ? '  These are public defaults.' : line));
    expect(body.slice(0, lines.length)).toEqual(lines);
    expect(banner).toContain('DEVELOPMENT CREDENTIALS (embedded mode only)');
  });
});

describe('logDevelopmentCredentials', () => {
  const config = loadConfig({});
  const logged = async (level: string, liveBoard: boolean) => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    await logDevelopmentCredentials(config, createLogger(level, { format: 'json', destination }), {
      url: 'http://127.0.0.1:8080',
      liveBoard,
    });
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string; credentials: string[] });
  };

  it('logs the banner once, as a warning, with a live board URL whose token the board accepts', async () => {
    const records = await logged('info', true);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      credentials: ['LIVEPULSE_WRITE_KEYS', 'LIVEPULSE_JWT_SECRET', 'LIVEPULSE_IVS_WEBHOOK_SECRET'],
    });
    const token = /\/live\?token=(\S+)/.exec(records[0]!.msg)![1]!;
    expect(await createApiTokenVerifier(config.auth).verify(token)).toMatchObject({ role: 'admin' });
  });

  it('leaves the URL out without a live board, and the banner out at LOG_LEVEL=error', async () => {
    expect((await logged('info', false))[0]!.msg).not.toContain('/live?token=');
    expect(await logged('error', true)).toEqual([]);
  });
});
