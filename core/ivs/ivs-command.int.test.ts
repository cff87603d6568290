import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIvsTestServer, type IvsTestServer } from '../../test/fixtures/ivs-test-server.ts';
import { IvsControlPlane } from './ivs-control-plane.ts';

const execFileAsync = promisify(execFile);

describe('livepulse ivs', () => {
  let server: IvsTestServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startIvsTestServer({ activationDelayMs: 100 });
    env = {
      ...process.env,
      IVS_ENDPOINT: server.url,
      IVS_REGION: server.region,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      LOG_LEVEL: 'silent',
    };
  });

  afterAll(() => server.close());

  const livepulse = (...args: string[]) =>
    execFileAsync(process.execPath, ['bin/livepulse.js', 'ivs', ...args], { env });

  it('creates a recording channel and lists its sessions', async () => {
    const { stdout } = await livepulse(
      'create-channel',
      'demo',
      '--bucket',
      'livepulse-media',
      '--latency',
      'NORMAL',
      '--reconnect-window',
      '30',
    );
    const created = JSON.parse(stdout) as {
      channelArn: string;
      streamKey: string;
      ingestEndpoint: string;
      recordingBucket: string;
    };
    expect(created).toMatchObject({
      recordingBucket: 'livepulse-media',
      streamKey: expect.stringMatching(/^sk_/) as unknown,
      ingestEndpoint: expect.stringMatching(/^rtmps:\/\/.+:443\/app\/$/) as unknown,
    });
    expect(server.requests.map((r) => r.operation)).toEqual(
      expect.arrayContaining(['CreateRecordingConfiguration', 'GetRecordingConfiguration', 'CreateChannel']),
    );

    const streamId = server.startStream(created.channelArn);
    const sessions = JSON.parse((await livepulse('sessions', created.channelArn)).stdout) as Array<{
      streamId: string;
    }>;
    expect(sessions.map((s) => s.streamId)).toEqual([streamId]);
  });

  it('tags a channel with its creator, whom the stream registry then reads from GetChannel', async () => {
    const owned = JSON.parse(
      (await livepulse('create-channel', 'owned', '--bucket', 'livepulse-media', '--creator', 'creator-7')).stdout,
    ) as { channelArn: string };
    const untagged = JSON.parse(
      (await livepulse('create-channel', 'untagged', '--bucket', 'livepulse-media')).stdout,
    ) as { channelArn: string };
    const ivs = new IvsControlPlane({
      region: server.region,
      endpoint: server.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    try {
      expect([await ivs.channelCreator(owned.channelArn), await ivs.channelCreator(untagged.channelArn)]).toEqual([
        'creator-7',
        null,
      ]);
    } finally {
      ivs.close();
    }
    const refused = await livepulse(
      'create-channel',
      'bad',
      '--bucket',
      'livepulse-media',
      '--creator',
      "x'; --",
    ).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('--creator must be') as unknown });
  });

  it('explains what is missing', async () => {
    const failure = await livepulse('create-channel', 'demo').catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--bucket is required when S3_BUCKET is not set/) as unknown,
    });
  });
});
