import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from './logger.ts';

/** A destination that keeps what the logger wrote. */
function captured() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('resolveLogFormat', () => {
  it.each([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['json', true, 'json'],
    ['json', false, 'json'],
    ['pretty', true, 'pretty'],
    ['pretty', false, 'pretty'],
  ] as const)('%s with a terminal: %s → %s', (format, terminal, resolved) => {
    expect(resolveLogFormat(format, terminal)).toBe(resolved);
  });
});

describe('createLogger', () => {
  it('writes one JSON object a line', () => {
    const out = captured();
    createLogger('info', { format: 'json', destination: out.stream }).warn({ service: 'ingest-api' }, 'slow broker');
    expect(JSON.parse(out.text())).toMatchObject({
      level: 40,
      name: 'livepulse',
      service: 'ingest-api',
      msg: 'slow broker',
    });
  });

  it('writes a line a person reads: time, level, name, message, then the fields', () => {
    const out = captured();
    createLogger('info', { format: 'pretty', destination: out.stream }).warn({ service: 'ingest-api' }, 'slow broker');
    expect(out.text()).toMatch(
      /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN \(livepulse\): slow broker\n {4}service: "ingest-api"\n$/,
    );
  });

  it('respects the level in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      const out = captured();
      const logger = createLogger('warn', { format, destination: out.stream });
      logger.info('hidden');
      logger.error('shown');
      expect(out.text()).not.toContain('hidden');
      expect(out.text()).toContain('shown');
    }
  });
});
