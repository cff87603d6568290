import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaPlaylist } from '../../core/ivs/hls-playlist.ts';
import { recordingKeys } from '../../core/ivs/recording-layout.ts';
import { LocalObjectStore } from '../../core/object-store/local-object-store.ts';
import { IVS_SECRET_HEADER } from '../../ingest-api/ivs/ivs-route.ts';
import type { IvsEvent } from '../../ingest-api/ivs/ivs-event.ts';
import { mapIvsEvent } from '../../ingest-api/ivs/map-ivs-event.ts';
import { renditionFromName } from './live-stream-command.ts';

describe('renditionFromName', () => {
  it.each([
    ['720p30', { width: 1280, height: 720 }],
    ['360p30', { width: 640, height: 360 }],
    ['160p30', { width: 284, height: 160 }],
  ])('%s', (name, size) => {
    expect(renditionFromName(name)).toMatchObject({ name, ...size });
  });

  it('refuses other names', () => {
    expect(() => renditionFromName('hd')).toThrow(/<height>p<fps>/);
  });
});

describe('livepulse live-stream', () => {
  let dataDir: string;
  const received: Array<{ secret: string | undefined; events: IvsEvent[] }> = [];
  const collector = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        secret: request.headers[IVS_SECRET_HEADER] as string | undefined,
        events: JSON.parse(Buffer.concat(chunks).toString()) as IvsEvent[],
      });
      response.writeHead(202).end('{}');
    });
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-live-stream-'));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    collector.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('records a live broadcast in the IVS layout and tells the collector, as EventBridge would', async () => {
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const child = spawn(
      process.execPath,
      [
        'bin/livepulse.js',
        'live-stream',
        '--channel',
        'CliTest',
        '--account',
        '123456789012',
        '--duration',
        '5',
        '--segment',
        '2',
        '--renditions',
        '180p30,90p30',
        '--collector',
        url,
      ],
      {
        env: { ...process.env, LIVEPULSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(output).toMatch(/^live: stream st-\w+ recording to ivs\/v1\/123456789012\/CliTest\//);

    const mapped = received.flatMap(({ secret, events }) => {
      expect(secret).toBe('livepulse-dev-only-ivs-webhook-secret');
      return events.map((event) => mapIvsEvent(event));
    });
    expect(mapped.map((m) => m.kind === 'lifecycle' && m.event.kind)).toEqual([
      'stream_start',
      'recording_start',
      'recording_end',
      'stream_end',
    ]);
    const start = mapped[1]!;
    if (start.kind !== 'lifecycle') throw new Error('not mapped');
    const prefix = start.event.recording_prefix!;
    const store = new LocalObjectStore({ root: join(dataDir, 'objects') });
    const playlist = parseMediaPlaylist(
      (await store.get(recordingKeys.renditionPlaylist(prefix, '180p30'))).toString(),
    );
    expect(playlist.endList).toBe(true);
    expect(playlist.segments.length).toBeGreaterThanOrEqual(2);
    expect(playlist.segments.every((s) => s.programDateTimeMs !== undefined)).toBe(true);
    const byteRange = parseMediaPlaylist(
      (await store.get(recordingKeys.byteRangePlaylist(prefix, '90p30'))).toString(),
    );
    expect(byteRange.segments.every((s) => s.byteRange)).toBe(true);
  });
});
