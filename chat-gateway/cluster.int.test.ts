import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../core/bus/bus.ts';
import { createBus } from '../core/bus/create-bus.ts';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { testServices } from '../test/services.ts';
import { waitFor } from '../test/wait-for.ts';
import { ChatClient, TEST_JWT_SECRET, testToken } from './testing/chat-test-kit.ts';
import { publishVerdict } from '../core/moderation/verdict-records.ts';

/**
 * Two gateway processes behind one Redis (and one Kafka, ClickHouse and S3), started the way an
 * operator starts them: `node bin/livepulse.js start chat-gateway`.
 */

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const runId = randomUUID().slice(0, 8);
const topicPrefix = `chat-cluster-${runId}.`;
let env: Record<string, string>;
let dataDir: string;
const nodes: Array<{ child: ChildProcess; url: string; port: number }> = [];
/** Every process spawned, so none outlives the test even if it never came up. */
const spawned: ChildProcess[] = [];
const clients: ChatClient[] = [];
let bus: Bus;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function startNode(port: number): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(process.execPath, ['bin/livepulse.js', 'start', 'chat-gateway'], {
    cwd: repoRoot,
    env: { ...env, PORT: String(port), LIVEPULSE_DATA_DIR: join(dataDir, String(port)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`gateway on port ${port} exited with ${String(code)}: ${output.slice(-2_000)}`);
  });
  const listening = waitFor(
    `gateway on port ${port} to listen`,
    () => /listening on (http:\/\/\S+)/.exec(output)?.[1],
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const url = await Promise.race([listening, exited]);
  exited.catch(() => undefined);
  return { child, url, port };
}

async function stopNode(node: { child: ChildProcess }): Promise<void> {
  if (node.child.exitCode !== null) return;
  node.child.kill('SIGTERM');
  const exited = once(node.child, 'exit');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function joined(url: string, sub: string, stream: string, role: 'viewer' | 'moderator' | 'host' = 'viewer') {
  const c = await ChatClient.connect(url, await testToken(sub, { [stream]: role }));
  clients.push(c);
  expect((await c.join(stream)).ok).toBe(true);
  return c;
}

beforeAll(async () => {
  const services = testServices();
  dataDir = await mkdtemp(join(tmpdir(), 'livepulse-chat-cluster-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL: services.redisUrl,
    KAFKA_BROKERS: services.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_PARTITIONS: '2',
    CLICKHOUSE_URL: services.clickhouseUrl,
    CLICKHOUSE_DATABASE: `chat_cluster_${runId}`,
    S3_ENDPOINT: services.s3.endpoint,
    S3_BUCKET: services.s3.bucket,
    S3_REGION: services.s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: services.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: services.s3.secretAccessKey,
    LIVEPULSE_JWT_SECRET: TEST_JWT_SECRET,
    LIVEPULSE_WRITE_KEYS: 'cluster:wk_cluster_test_key_0001',
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'cluster-test-ivs-webhook-secret',
    CHAT_FLOOD_MESSAGES: '6',
  };
  const [portA, portB] = [await freePort(), await freePort()];
  nodes.push(...(await Promise.all([startNode(portA), startNode(portB)])));
  const config = loadConfig(env);
  bus = createBus(config.bus, createLogger('silent'));
}, 180_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(spawned.map((child) => stopNode({ child })));
  await bus?.close();
  const redis = new Redis(testServices().redisUrl);
  try {
    const keys = await redis.keys('livepulse:chat:{cluster-*');
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('two gateway processes behind one Redis', () => {
  it('delivers a message sent on one node to viewers on the other, and counts viewers across nodes', async () => {
    const stream = `cluster-${randomUUID().slice(0, 8)}`;
    const [a, b] = nodes;
    const onA = await joined(a!.url, 'alice', stream);
    const onB = await joined(b!.url, 'bob', stream);
    const alsoB = await joined(b!.url, 'carol', stream);
    const sent = await onA.send('hello from node A');
    expect(sent.status).toBe('delivered');
    await onB.waitForEvent('message', (m: { id: string }) => m.id === sent.id);
    await alsoB.waitForEvent('message', (m: { id: string }) => m.id === sent.id);
    const reply = await onB.send('hello back from node B');
    await onA.waitForEvent('message', (m: { id: string }) => m.id === reply.id);
    await onA.waitForEvent('viewers', (v: { count: number }) => v.count === 3, 10_000);
    await onB.waitForEvent('viewers', (v: { count: number }) => v.count === 3, 10_000);
  });

  it('a ban on one node holds on the other, immediately and after that node restarts', async () => {
    const stream = `cluster-${randomUUID().slice(0, 8)}`;
    const [a, b] = nodes;
    const mod = await joined(a!.url, 'moderator', stream, 'moderator');
    const troll = await joined(b!.url, 'troll', stream);
    expect((await troll.send('before the ban')).status).toBe('delivered');
    expect(await mod.request('mod:ban', { userId: 'troll', reason: 'cross-node' })).toMatchObject({ ok: true });
    expect(await troll.waitForEvent('user:timeout')).toMatchObject({ userId: 'troll', kind: 'ban' });
    expect(await troll.send('after the ban')).toMatchObject({ status: 'rejected', reason: 'banned' });

    troll.close();
    await stopNode(b!);
    nodes[1] = await startNode(b!.port);
    const again = await joined(nodes[1].url, 'troll', stream);
    expect(await again.send('after the restart')).toMatchObject({ status: 'rejected', reason: 'banned' });
  });

  it('shares flood limits, settings changes and held-message review across nodes', async () => {
    const stream = `cluster-${randomUUID().slice(0, 8)}`;
    const [a, b] = nodes;
    const mod = await joined(a!.url, 'moderator', stream, 'moderator');
    const onA = await joined(a!.url, 'dual', stream);
    const onB = await joined(b!.url, 'dual', stream);
    const words = ['one', 'two', 'three', 'four', 'five', 'six', 'seven'];
    const acks = [];
    for (const [i, word] of words.entries()) acks.push(await (i % 2 === 0 ? onA : onB).send(word));
    expect(acks.slice(0, 6).every((ack) => ack.status === 'delivered')).toBe(true);
    expect(acks[6]).toMatchObject({ status: 'rejected', reason: 'rate_limited' });

    const viewerB = await joined(b!.url, 'viewer-b', stream);
    expect(await mod.request('mod:modes', { emote_only: true })).toMatchObject({ ok: true });
    await viewerB.waitForEvent('modes', (m: { emote_only: boolean }) => m.emote_only);
    expect(await viewerB.send('words')).toMatchObject({ status: 'rejected', reason: 'emote_only' });
    await mod.request('mod:modes', { emote_only: false });
    await waitFor(
      'emote-only off on node B',
      async () => (await viewerB.send(`link at shop${randomUUID().slice(0, 4)}.example.com`)).status === 'held',
    );

    const held = await viewerB.send('and more at store.example.com');
    expect(held.status).toBe('held');
    await mod.waitForEvent('message:held', (h: { message: { id: string } }) => h.message.id === held.id);
    expect(await mod.request('mod:approve', { messageId: held.id })).toMatchObject({ ok: true });
    expect(await viewerB.waitForEvent('message:status', (s: { id: string }) => s.id === held.id)).toMatchObject({
      status: 'delivered',
    });
    await onA.waitForEvent('message', (m: { id: string }) => m.id === held.id);
  });

  it("takes a revoked moderator's sockets on another node out of the staff room at once", async () => {
    const stream = `cluster-${randomUUID().slice(0, 8)}`;
    const [a, b] = nodes;
    const host = await joined(a!.url, 'host', stream, 'host');
    expect(await host.request('mod:staff:add', { userId: 'helper' })).toMatchObject({ ok: true });
    const helper = await joined(b!.url, 'helper', stream);
    const witness = await joined(b!.url, 'token-mod', stream, 'moderator');
    const poster = await joined(a!.url, 'poster', stream);
    const heldBefore = await poster.sendHeld('my clips are at clips.example.com');
    await helper.waitForHeld(heldBefore);

    expect(await host.request('mod:staff:remove', { userId: 'helper' })).toEqual({ ok: true, revoked: true });
    // The revocation reaches node B through the adapter: there the helper's socket acts as a viewer again.
    await waitFor('the revocation on node B', async () => (await helper.send('!clip')).reason === 'forbidden', {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await witness.waitForHeld(await poster.sendHeld('and more at store.example.com'));
    // An answer on the helper's own connection comes after anything the room sent it before.
    expect(await helper.request('mod:held:list')).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(helper.heldIds()).toEqual([heldBefore]);
    expect((await helper.send('see helper.example.com')).status).toBe('held');
  });

  it('applies an AI verdict from Kafka once, on every node', async () => {
    const stream = `cluster-${randomUUID().slice(0, 8)}`;
    const [a, b] = nodes;
    const onA = await joined(a!.url, 'writer', stream);
    const onB = await joined(b!.url, 'reader', stream);
    const sent = await onA.send('something the model will dislike');
    const removedOn = (c: ChatClient) =>
      c.events<{ id: string }>('message:removed').filter((e) => e.id === sent.id).length;
    // The gateways' consumer group reads from where it joined; until it has joined (a rebalance can
    // take a while), a verdict published earlier is not for it. Removal is idempotent, so resend.
    let published = 0;
    await waitFor(
      'the verdict to be applied',
      async () => {
        if (removedOn(onB) > 0) return true;
        published++;
        await publishVerdict(bus, {
          streamId: stream,
          source: 'ai',
          action: 'remove',
          messageId: sent.id!,
          reason: 'harassment',
          actorId: 'omni-moderation-latest',
        });
        return false;
      },
      { timeoutMs: 90_000, intervalMs: 3_000 },
    );
    await waitFor('removal on node A', () => removedOn(onA) > 0);
    await sleep(1_000);
    // Each verdict is applied by one node and reaches each client once.
    expect(removedOn(onB)).toBeLessThanOrEqual(published);
    expect(removedOn(onA)).toBe(removedOn(onB));
  });
});
