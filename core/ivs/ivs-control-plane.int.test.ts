import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChannelNotBroadcasting,
  ConflictException,
  CreateChannelCommand,
  CreateRecordingConfigurationCommand,
  IvsClient,
  PutMetadataCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-ivs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIvsTestServer, type IvsTestServer } from '../../test/fixtures/ivs-test-server.ts';
import { MemoryLiveState } from '../live-state/memory-live-state.ts';
import { IvsControlPlane, TimedMetadataTooLargeError } from './ivs-control-plane.ts';
import { parseChannelArn } from './recording-layout.ts';
import { TimedMetadataPublisher } from './timed-metadata.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'test-secret' };

describe('IVS control plane through @aws-sdk/client-ivs against the IVS test double', () => {
  let server: IvsTestServer;
  let ivs: IvsControlPlane;
  /** A client that does not retry, to see the double's answers as they are. */
  let raw: IvsClient;

  beforeAll(async () => {
    server = await startIvsTestServer({ activationDelayMs: 300 });
    ivs = new IvsControlPlane({ region: server.region, endpoint: server.url, credentials });
    raw = new IvsClient({ region: server.region, endpoint: server.url, credentials, maxAttempts: 1 });
  });

  afterAll(async () => {
    ivs.close();
    raw.destroy();
    await server.close();
  });

  async function liveChannel(name: string) {
    const configuration = await ivs.createRecordingConfiguration(
      { name: `${name}-rec`, bucketName: 'livepulse-media' },
      { pollMs: 50 },
    );
    const { channel } = await ivs.createChannel({ name, recordingConfigurationArn: configuration.arn! });
    const streamId = server.startStream(channel.arn!);
    return { channelArn: channel.arn!, streamId };
  }

  it('creates a recording configuration, waits until it is ACTIVE, and a channel that records to it', async () => {
    const configuration = await ivs.createRecordingConfiguration(
      { name: 'clips-rec', bucketName: 'livepulse-media', reconnectWindowSeconds: 60 },
      { pollMs: 50 },
    );
    expect(configuration).toMatchObject({
      state: 'ACTIVE',
      destinationConfiguration: { s3: { bucketName: 'livepulse-media' } },
      recordingReconnectWindowSeconds: 60,
    });
    const { channel, streamKey } = await ivs.createChannel({
      name: 'clips',
      recordingConfigurationArn: configuration.arn!,
      latencyMode: 'LOW',
      type: 'STANDARD',
    });
    expect(channel).toMatchObject({
      name: 'clips',
      recordingConfigurationArn: configuration.arn,
      latencyMode: 'LOW',
      type: 'STANDARD',
    });
    expect(parseChannelArn(channel.arn!)).toMatchObject({ region: server.region, accountId: server.accountId });
    expect(streamKey).toMatch(/^sk_/);
  });

  it('refuses a channel on a configuration that is not ACTIVE yet, and invalid settings', async () => {
    const { recordingConfiguration } = await raw.send(
      new CreateRecordingConfigurationCommand({
        name: 'young',
        destinationConfiguration: { s3: { bucketName: 'livepulse-media' } },
      }),
    );
    expect(recordingConfiguration!.state).toBe('CREATING');
    await expect(
      raw.send(new CreateChannelCommand({ name: 'too-soon', recordingConfigurationArn: recordingConfiguration!.arn })),
    ).rejects.toBeInstanceOf(ConflictException);
    await expect(ivs.createRecordingConfiguration({ name: 'bad', bucketName: 'Not_A_Bucket' })).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(
      ivs.createRecordingConfiguration({ name: 'bad', bucketName: 'livepulse-media', reconnectWindowSeconds: 301 }),
    ).rejects.toBeInstanceOf(ValidationException);
  });

  it('lists stream sessions newest first across pages, and finds the latest', async () => {
    const { channelArn, streamId: first } = await liveChannel('sessions');
    server.endStream(channelArn);
    const second = server.startStream(channelArn);
    server.endStream(channelArn);
    const third = server.startStream(channelArn);
    const sessions = [];
    for await (const session of ivs.listStreamSessions(channelArn, 2)) sessions.push(session);
    expect(sessions.map((s) => s.streamId)).toEqual([third, second, first]);
    expect(sessions[0]!.startTime).toBeInstanceOf(Date);
    expect(sessions[0]!.endTime).toBeUndefined();
    expect(sessions[1]!.endTime).toBeInstanceOf(Date);
    expect((await ivs.getStreamSession(channelArn)).streamId).toBe(third);
    expect((await ivs.getStreamSession(channelArn, first)).streamId).toBe(first);
  });

  it('enforces PutMetadata limits: 1 KB per call, 5 calls per second per channel, a live stream', async () => {
    const { channelArn } = await liveChannel('limits');
    await expect(ivs.putMetadata(channelArn, 'x'.repeat(1025))).rejects.toBeInstanceOf(TimedMetadataTooLargeError);
    await expect(raw.send(new PutMetadataCommand({ channelArn, metadata: 'é'.repeat(513) }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await raw.send(new PutMetadataCommand({ channelArn, metadata: 'x'.repeat(1024) }));
    for (let i = 0; i < 4; i++) await raw.send(new PutMetadataCommand({ channelArn, metadata: `m${i}` }));
    await expect(raw.send(new PutMetadataCommand({ channelArn, metadata: 'sixth' }))).rejects.toBeInstanceOf(
      ThrottlingException,
    );
    server.endStream(channelArn);
    await sleep(1_050);
    await expect(raw.send(new PutMetadataCommand({ channelArn, metadata: 'after the end' }))).rejects.toBeInstanceOf(
      ChannelNotBroadcasting,
    );
  });

  it('refuses requests that are not SigV4-signed', async () => {
    const response = await fetch(`${server.url}/GetChannel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
  });

  it('marks a burst of clips in the live stream without ever being throttled', async () => {
    const { channelArn } = await liveChannel('markers');
    const liveState = new MemoryLiveState();
    const outcomes: string[] = [];
    const publisher = new TimedMetadataPublisher({
      putMetadata: (arn, payload) => ivs.putMetadata(arn, payload),
      liveState,
      logger: pino({ level: 'silent' }),
      onOutcome: (o) => outcomes.push(o),
    });
    const before = server.requests.filter((r) => r.operation === 'PutMetadata').length;
    for (let i = 0; i < 12; i++)
      publisher.enqueue(channelArn, { type: 'livepulse.clip', clip_id: `clip_${i}`, note: 'x'.repeat(400) });
    await publisher.flush();
    await liveState.close();
    const calls = server.requests.filter((r) => r.operation === 'PutMetadata').slice(before);
    expect(calls.every((c) => c.status === 204)).toBe(true);
    expect(outcomes).toEqual(Array(12).fill('sent'));
    const received = server.metadata.filter((m) => m.channelArn === channelArn);
    expect(received.flatMap((m) => JSON.parse(m.metadata) as Array<{ clip_id: string }>).map((m) => m.clip_id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `clip_${i}`),
    );
    expect(received.every((m) => Buffer.byteLength(m.metadata) <= 1024)).toBe(true);
  });
});
