import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queryApiService } from '../../dashboards/query-api/service.ts';
import { ingestApiService } from '../../ingest-api/service.ts';
import { IVS_SECRET_HEADER } from '../../ingest-api/ivs/ivs-route.ts';
import { startIvsTestServer, type IvsTestServer } from '../../test/fixtures/ivs-test-server.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { quoteIdentifier } from '../analytics-store/sql-quoting.ts';
import type { EmbeddedBus } from '../bus/embedded-bus.ts';
import { loadConfig } from '../config.ts';
import { mintApiToken } from '../http/api-auth.ts';
import { ivsEventBridgeEvent } from '../ivs/eventbridge-events.ts';
import { CHANNEL_CREATOR_TAG, IvsControlPlane } from '../ivs/ivs-control-plane.ts';
import { parseChannelArn } from '../ivs/recording-layout.ts';
import { startPlatform, type RunningPlatform } from '../platform.ts';
import { TOPICS } from '../topics.ts';
import { IVS_STREAM_OWNERS_GROUP } from './ivs-stream-owners.ts';

/**
 * IVS streams owned from the control plane: channels on the IVS test server (spoken to by the
 * real @aws-sdk/client-ivs), their Stream Start posted to the collector as EventBridge would, and
 * the query API's registry reading each channel's livepulse:creator_id tag. A tagged channel's
 * stream is its creator's; an untagged one stays admins' only; nobody claims one through the API.
 */
const SECRET = 'ivs-owners-test-secret-0123456789abcdef';
const IVS_WEBHOOK_SECRET = 'ivs-owners-test-webhook-secret';

describe('IVS stream owners from channel tags', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  let ivsServer: IvsTestServer;
  let ivs: IvsControlPlane;
  let platform: RunningPlatform;
  let dataDir: string;

  beforeAll(async () => {
    ivsServer = await startIvsTestServer({ activationDelayMs: 50 });
    // The platform's control plane takes the default AWS credential chain, as it does in production.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret');
    ivs = new IvsControlPlane({
      region: ivsServer.region,
      endpoint: ivsServer.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'test-secret' },
    });
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-ivs-owners-'));
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      CLICKHOUSE_URL: testServices().clickhouseUrl,
      CLICKHOUSE_DATABASE: `ivs_owners_${id}`,
      LIVEPULSE_JWT_SECRET: SECRET,
      LIVEPULSE_WRITE_KEYS: 'demo:lp_ivs_owners_write_key',
      LIVEPULSE_IVS_WEBHOOK_SECRET: IVS_WEBHOOK_SECRET,
      IVS_ENDPOINT: ivsServer.url,
      IVS_REGION: ivsServer.region,
    });
    platform = await startPlatform(config, [ingestApiService, queryApiService], pino({ level: 'silent' }));
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await platform?.context.analytics.client
      .command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(`ivs_owners_${id}`)}` })
      .catch(() => undefined);
    ivs?.close();
    await ivsServer?.close();
    vi.unstubAllEnvs();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** A channel (tagged or not) goes live; its Stream Start reaches the collector as EventBridge posts it. */
  async function goLive(name: string, tags: Record<string, string>): Promise<string> {
    const { channel } = await ivs.createChannel({ name, tags });
    const streamId = ivsServer.startStream(channel.arn!);
    const { region, accountId, channelId } = parseChannelArn(channel.arn!)!;
    const broadcast = {
      region,
      accountId,
      channelId,
      channelName: name,
      streamId,
      recordingPrefix: '',
      recordingSessionId: 'rs-1',
      bucket: 'media',
    };
    const response = await fetch(`${platform.url}/v1/ivs/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: IVS_WEBHOOK_SECRET },
      body: JSON.stringify(ivsEventBridgeEvent(broadcast, 'Stream Start', new Date())),
    });
    expect(response.status).toBe(202);
    return streamId;
  }
  const get = async (path: string, bearer: string) => {
    const response = await fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const token = (role: 'admin' | 'creator', creatorId?: string) =>
    mintApiToken({ secret: SECRET, sub: `user-${creatorId ?? role}`, role, creatorId, ttlSeconds: 600 });

  it("registers a tagged channel's stream to the tagged creator, and lets nobody else claim it", async () => {
    const [admin, owner, other] = await Promise.all([
      token('admin'),
      token('creator', `creator-${id}`),
      token('creator', `other-${id}`),
    ]);
    const streamId = await goLive(`tagged-${id}`, { [CHANNEL_CREATOR_TAG]: `creator-${id}` });
    await waitFor(
      'the stream to be registered from its channel tag',
      async () => (await get(`/v1/streams/${streamId}/owner`, admin)).status === 200,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect((await get(`/v1/streams/${streamId}/owner`, owner)).body).toMatchObject({
      stream_id: streamId,
      creator_id: `creator-${id}`,
      source: 'ivs',
      registered_by: 'ivs',
    });
    expect((await get(`/v1/streams/${streamId}/owner`, other)).status).toBe(403);
    const claim = await fetch(`${platform.url}/v1/streams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
      body: JSON.stringify({ stream_id: streamId }),
    });
    expect([claim.status, ((await claim.json()) as { error: string }).error]).toEqual([409, 'ivs_stream']);
    expect(ivsServer.requests.filter((r) => r.operation === 'GetChannel').every((r) => r.status === 200)).toBe(true);
  });

  it("leaves an untagged channel's stream unregistered (admins only), and one whose tag is no creator id", async () => {
    const streamId = await goLive(`untagged-${id}`, {});
    const badTag = await goLive(`bad-tag-${id}`, { [CHANNEL_CREATOR_TAG]: "Jane's channel" });
    const bus = platform.context.bus as EmbeddedBus;
    await waitFor(
      'the registry to read every Stream Start',
      async () => {
        const [committed, end] = await Promise.all([
          bus.committedOffsets(IVS_STREAM_OWNERS_GROUP, TOPICS.streamLifecycle),
          bus.endOffsets(TOPICS.streamLifecycle),
        ]);
        return end.every((e, p) => e === 0 || committed[p] === e);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect((await get(`/v1/streams/${streamId}/owner`, await token('admin'))).status).toBe(404);
    expect((await get(`/v1/streams/${badTag}/owner`, await token('admin'))).status).toBe(404);
    expect((await get(`/v1/streams/${streamId}/owner`, await token('creator', `creator-${id}`))).status).toBe(404);
    // Nor may a creator claim it in the channel's place.
    const claim = await fetch(`${platform.url}/v1/streams`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('creator', `creator-${id}`)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ stream_id: streamId }),
    });
    expect(claim.status).toBe(409);
  });
});
