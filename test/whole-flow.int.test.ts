import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintChatToken } from '../core/chat/chat-token.ts';
import type { PromptEvent } from '../core/chat/protocol.ts';
import { ChatClient } from '../chat-gateway/testing/chat-test-kit.ts';
import { clipId, clipKeys, clipManifestValidator } from '../core/clips/clip-records.ts';
import { clipProfileFromConfig, profileVersion } from '../core/clips/clip-profile.ts';
import { FfmpegRunner } from '../clip-worker/ffmpeg/ffmpeg.ts';
import {
  runSyntheticStream,
  type SyntheticBroadcast,
  type SyntheticRecording,
} from '../tools/live-stream/synthetic-stream.ts';
import { TEST_RENDITIONS, emptyStore } from '../clip-worker/testing/clip-fixtures.ts';
import { mediaProblems } from '../clip-worker/verify-clip.ts';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
import { KafkaBus } from '../core/bus/kafka-bus.ts';
import { loadConfig, type AnalyticsSettings } from '../core/config.ts';
import { DEAD_LETTER_HEADERS } from '../core/dead-letters.ts';
import { ivsEventBridgeEvent, type IvsBroadcastTransition } from '../core/ivs/eventbridge-events.ts';
import { S3ObjectStore } from '../core/object-store/s3-object-store.ts';
import { allTopicSpecs, TOPICS } from '../core/topics.ts';
import { relaunchLocalService, startLocalServices, stopLocalServices } from '../infra/local/process-supervisor.ts';
import { samplePlayerEvent } from '../ingest-api/events/sample-player-events.ts';
import { IVS_SECRET_HEADER } from '../ingest-api/ivs/ivs-route.ts';
import { computeGroundTruth } from '../tools/simulator/ground-truth.ts';
import { SeededRandom } from '../tools/simulator/seeded-random.ts';
import { playSimulation } from '../tools/simulator/traffic-player.ts';
import { planSimulation } from '../tools/simulator/viewer-scripts.ts';
import { simulatedHostPromptModel } from '../stream-processors/host-prompts/testing/simulated-host-prompt-model.ts';
import { countViewSummaries, expectAnalyticsToMatchTruth } from './analytics-truth.ts';
import { OpenAiTestServer } from './fixtures/openai-test-server.ts';
import { LivepulseProcess } from './livepulse-process.ts';
import { testServices } from './services.ts';
import { waitFor } from './wait-for.ts';
import { analyticsSettingsEnvironment } from './process-environment.ts';

/**
 * The whole flow, as deployed, on the distributed adapters and real services: a synthetic live
 * broadcast recorded into S3 in IVS's layout (announced to the collector as EventBridge would),
 * simulated viewers → collector → Kafka → viewer analytics → ClickHouse, simulated chatters →
 * chat gateway → moderation (the real openai SDK against the test double) → ClickHouse audit, and
 * a chat spike → highlight detector → clip worker (ffmpeg) → S3 and ClickHouse. Each group of
 * services is its own `livepulse start` process, on a Kafka broker of this test's own.
 *
 * Mid-run, the viewer-analytics processor is SIGKILLed and restarted (twice), the broker is
 * stopped (the collector answers 503 and the viewers' retries deliver once it is back), and the
 * clip worker is SIGKILLed while it encodes. Afterwards: every metric equals the simulator's
 * ground truth, nothing was late, abusive messages were removed or denied with the reason in the
 * audit log, and each highlight has exactly one clip, which ffprobe accepts.
 */
const settings: AnalyticsSettings = {
  windowMs: 10_000,
  // Larger than the broker's outage plus the viewers' backoff: events held back by it are on time.
  allowedLatenessMs: 60_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 30_000,
  pausedEndAfterMs: 40_000,
  maxRebufferMs: 20_000,
  emitIntervalMs: 500,
  catchUpIntervalMs: 2_500,
  catchUpLagMs: 60_000,
  idleAdvanceMs: 1_000,
  maxViewsPerPartition: 100_000,
};
const WRITE_KEY = 'lp_whole_flow_write_key';
/** A second property: its probe events show the collector's answers without touching the simulation's numbers. */
const PROBE_WRITE_KEY = 'lp_whole_flow_probe_key';
const JWT_SECRET = 'whole-flow-jwt-secret-0123456789abcdef';
const IVS_SECRET = 'whole-flow-ivs-secret-0123';
const PARTITIONS = 4;
/**
 * The detector needs 12 buckets of 5 s of baseline before a spike counts, from the chat's start
 * and again from its group's return after the broker's outage (its baseline is in memory, and a
 * rebalance starts it afresh; a viewer surge as the counts recover also starts a cooldown).
 */
const SPIKE_AFTER_MS = 75_000;
const CALM_CHAT_INTERVAL_MS = 2_000;

const CALM_LINES = [
  'hello from berlin',
  'is this ranked?',
  'gg wp',
  'what settings are you on',
  'first time here, love the stream',
  'how long have you been playing this',
  'nice shot',
  'that was close',
  'what is the music called',
  'greetings from lisbon',
  'which server is this',
  'any tips for beginners?',
  'good luck next round',
  'the new map looks great',
  'back from dinner, what did i miss',
  'does the patch change much',
  'clean rotation',
  'chat is cozy today',
  'when is the next tournament?',
  'thanks for streaming',
  // The question several viewers keep asking: what host prompts are for.
  'when is the next tournament??',
  'is there a tournament soon?',
];
const HYPE_LINES = [
  'no way!!! PogChamp',
  'clip it',
  'what a play',
  'LETS GO',
  'insane',
  'did you see that',
  'unreal PogChamp',
  'that was sick',
];

describe('the whole flow on real services, with a processor, the broker and a clip worker failing mid-run', () => {
  const services = testServices();
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const ffmpeg = new FfmpegRunner();
  let kafkaStateDir: string;
  let brokerPort: number;
  let scratch: string;
  let bus: KafkaBus;
  let store: AnalyticsStore;
  let objects: S3ObjectStore;
  let openai: OpenAiTestServer;
  let env: Record<string, string>;
  let front: LivepulseProcess;
  let processor: LivepulseProcess;
  let back: LivepulseProcess;
  let clipWorker: LivepulseProcess;
  const chatClients: ChatClient[] = [];
  const broadcastEnd = new AbortController();
  let broadcast: Promise<SyntheticRecording> | undefined;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'livepulse-whole-flow-'));
    // A broker of its own: this test stops it, and other test files share the global one.
    kafkaStateDir = await mkdtemp(join(tmpdir(), 'livepulse-whole-flow-kafka-'));
    const kafka = await startLocalServices(['kafka'], { stateDir: kafkaStateDir });
    const brokers = kafka.endpoints.kafkaBrokers!;
    brokerPort = Number(brokers.split(':')[1]);
    const prefix = `wf${id}.`;
    bus = new KafkaBus({
      brokers: [brokers],
      clientId: 'whole-flow-test',
      topicPrefix: prefix,
      defaultPartitions: PARTITIONS,
      replicationFactor: 1,
      publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
    });
    await waitFor(
      'the topics',
      async () => {
        await bus.ensureTopics(allTopicSpecs(PARTITIONS));
        return true;
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: services.clickhouseUrl,
      username: 'default',
      password: '',
      database: `whole_flow_${id}`,
    });
    await applyMigrations(store);
    const s3Prefix = `whole-flow-${id}`;
    objects = new S3ObjectStore({
      bucket: services.s3.bucket,
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      forcePathStyle: true,
      prefix: s3Prefix,
      credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
    });
    // The AI stage flags harassment and threats; everything else is clean.
    openai = await OpenAiTestServer.start({ flagWords: ['idiot', 'find you'] });
    openai.onStructuredCompletion(simulatedHostPromptModel);

    env = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
      CLICKHOUSE_URL: services.clickhouseUrl,
      CLICKHOUSE_DATABASE: store.database,
      REDIS_URL: services.redisUrl,
      S3_BUCKET: services.s3.bucket,
      S3_ENDPOINT: services.s3.endpoint,
      S3_REGION: services.s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: s3Prefix,
      AWS_ACCESS_KEY_ID: services.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: services.s3.secretAccessKey,
      LIVEPULSE_WRITE_KEYS: `demo:${WRITE_KEY},probe:${PROBE_WRITE_KEY}`,
      LIVEPULSE_JWT_SECRET: JWT_SECRET,
      LIVEPULSE_IVS_WEBHOOK_SECRET: IVS_SECRET,
      OPENAI_API_KEY: 'whole-flow-test-key',
      OPENAI_BASE_URL: openai.url,
      // Long enough for the AI to judge a held threat first; a held link, which only a moderator may clear, times out.
      CHAT_HOLD_TIMEOUT_MS: '30000',
      // A viewer surge on the chat's stream must not hold the chat spike back for the default 45 s.
      HIGHLIGHT_COOLDOWN_MS: '15000',
      // A vertical version big enough that its encode is still running when the worker is killed.
      CLIP_VERTICAL_SIZE: '720x1280',
      CLIP_X264_PRESET: 'veryfast',
      CLIP_LEASE_MS: '4000',
      CLIP_SCAN_INTERVAL_MS: '500',
      // Host prompts from the last minute of chat, every 10 s.
      HOST_PROMPTS_WINDOW_MS: '60000',
      HOST_PROMPTS_INTERVAL_MS: '10000',
      HOST_PROMPTS_MIN_MESSAGES: '3',
      LOG_LEVEL: 'warn',
      ...analyticsSettingsEnvironment(settings),
    };
    front = new LivepulseProcess('front', env, ['ingest-api', 'chat-gateway']);
    processor = new LivepulseProcess('viewer-analytics', env);
    back = new LivepulseProcess('back', env, ['moderation', 'host-prompts', 'clickhouse-sink', 'highlight-detector']);
    // Info logs: the test waits for the worker's progress on the clip before killing it.
    clipWorker = new LivepulseProcess('clip-worker', { ...env, LOG_LEVEL: 'info' });
    await Promise.all([front, processor, back, clipWorker].map((p) => p.start()));
  }, 420_000);

  afterAll(async () => {
    for (const client of chatClients) client.close();
    broadcastEnd.abort(new Error('the test is over'));
    await broadcast?.catch(() => undefined);
    await Promise.allSettled([front, processor, back, clipWorker].map((p) => p?.kill('SIGTERM')));
    await bus?.close();
    await openai?.close();
    await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store?.close();
    if (objects) await emptyStore(objects);
    await objects?.close();
    if (kafkaStateDir) {
      await stopLocalServices(kafkaStateDir, ['kafka']);
      await rm(kafkaStateDir, { recursive: true, force: true });
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }, 180_000);

  async function select<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const result = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  /** A player event of the probe property: status and Retry-After of the collector's answer. */
  async function probeCollector(): Promise<{ status: number; retryAfter: string | null }> {
    const event = samplePlayerEvent({ view_id: `probe-${id}`, stream_id: `probe-${id}` });
    const response = await fetch(new URL('/v1/events', front.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PROBE_WRITE_KEY}` },
      body: JSON.stringify({ metadata: { sent_at: Date.now() }, events: [event] }),
    });
    await response.arrayBuffer();
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  }

  /** Posts IVS state changes to the collector as an EventBridge API destination would, retrying 503s. */
  async function announce(b: SyntheticBroadcast, transitions: IvsBroadcastTransition[], durationMs = 0): Promise<void> {
    const events = transitions.map((t) =>
      ivsEventBridgeEvent(
        {
          region: b.region,
          accountId: b.accountId,
          channelId: b.channelId,
          channelName: b.channelId,
          streamId: b.streamId,
          recordingPrefix: b.prefix,
          recordingSessionId: b.recordingId,
          bucket: services.s3.bucket,
        },
        t,
        new Date(),
        durationMs,
      ),
    );
    await waitFor(
      `the collector to take ${transitions.join(', ')}`,
      async () => {
        const response = await fetch(new URL('/v1/ivs/events', front.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: IVS_SECRET },
          body: JSON.stringify(events),
        });
        await response.arrayBuffer();
        return response.ok;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }

  /** Whether a consumer group has committed everything on the topic so far. */
  async function caughtUp(group: string, topic: string): Promise<boolean> {
    const [committed, end] = await Promise.all([bus.committedOffsets(group, topic), bus.endOffsets(topic)]);
    return end.every((e, p) => e === 0 || committed[p] === e);
  }

  async function chatter(streamId: string, userId: string, role: 'viewer' | 'host' = 'viewer'): Promise<ChatClient> {
    const token = await mintChatToken({
      secret: JWT_SECRET,
      sub: userId,
      name: userId,
      roles: { [streamId]: role },
      ttlSeconds: 3_600,
    });
    const client = await ChatClient.connect(front.url, token);
    chatClients.push(client);
    expect((await client.join(streamId)).ok, `${userId} joins`).toBe(true);
    return client;
  }

  it('analytics stay exact, abuse is removed with its reason audited, and each highlight has one playable clip', async () => {
    const seed = Number.parseInt(id.slice(0, 6), 16);
    const random = new SeededRandom(Number.parseInt(id.slice(6, 12), 16));
    const simulation = { viewers: 120, durationMs: 70_000, streams: 2, seed };
    // Chat, the broadcast and its clips are on the first simulated stream: the viewers there are the chat's audience.
    const streamId = planSimulation(simulation)
      .views.map((v) => v.streamId)
      .sort()[0]!;

    // The live broadcast, recorded into S3 as IVS would, announced to the collector on start.
    let started!: (b: SyntheticBroadcast) => void;
    const broadcastStarted = new Promise<SyntheticBroadcast>((resolve) => {
      started = resolve;
    });
    broadcast = runSyntheticStream({
      objectStore: objects,
      ffmpeg,
      accountId: '123456789012',
      channelId: `WholeFlow${id}`,
      streamId,
      durationSeconds: 600,
      segmentSeconds: 4,
      renditions: TEST_RENDITIONS,
      realtime: true,
      signal: broadcastEnd.signal,
      onEvent: (event) => {
        if (event.kind === 'recording_start') started(event.broadcast);
      },
    });
    const live = await Promise.race([
      broadcastStarted,
      broadcast.then(() => Promise.reject(new Error('the broadcast ended before it started'))),
    ]);
    await announce(live, ['Stream Start', 'Recording Start']);
    await waitFor(
      'the recording to be indexed',
      async () =>
        (await select('SELECT 1 FROM recording_events FINAL WHERE stream_id = {s:String}', { s: streamId })).length > 0,
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    const chatters = await Promise.all(Array.from({ length: 8 }, (_, i) => chatter(streamId, `chatter-${id}-${i}`)));
    const host = await chatter(streamId, `host-${id}`, 'host');
    const observer = await ChatClient.connect(front.url);
    chatClients.push(observer);
    expect((await observer.join(streamId)).ok).toBe(true);

    // Viewers, in real time, with shuffled, repeated and held-back batches, retrying on 503.
    // Planned now, so that their first events are not already due.
    const plan = planSimulation(simulation);
    const truth = computeGroundTruth(plan, settings);
    const playing = playSimulation(plan, {
      collectorUrl: front.url,
      writeKey: WRITE_KEY,
      flushIntervalMs: 2_000,
      chaos: { seed: 11, shuffle: true, duplicateShare: 0.05, holdBackShare: 0.1, maxHoldBackMs: 2_000 },
      deliveryTimeoutMs: 240_000,
    });
    // Awaited below; a failure before then is not an unhandled rejection.
    playing.catch(() => undefined);

    // Ordinary chat throughout, paused while the broker is down (the gateway has nowhere to put it).
    const chatStartedAt = Date.now();
    let brokerDown = false;
    const accepted: Array<{ status: string; id?: string }> = [];
    let chatSending: Promise<unknown> = Promise.resolve();
    // The spike's time: moved later once the detector reads chat again after the outage.
    let spikeAt = chatStartedAt + SPIKE_AFTER_MS;
    let calmLine = 0;
    const chatCalmly = async () => {
      for (; Date.now() < spikeAt; calmLine++) {
        await sleep(CALM_CHAT_INTERVAL_MS);
        if (brokerDown) continue;
        chatSending = chatters[calmLine % chatters.length]!.send(CALM_LINES[calmLine % CALM_LINES.length]!).then(
          (ack) => accepted.push(ack),
        );
        await chatSending;
      }
    };
    let calmChat = chatCalmly();
    calmChat.catch(() => undefined);

    const sleepUntil = (msAfterStart: number) => sleep(Math.max(0, chatStartedAt + msAfterStart - Date.now()));
    // Fault 1: the processor dies mid-run and comes back.
    await sleepUntil(random.int(8_000, 14_000));
    await processor.kill('SIGKILL');
    await processor.start();

    // Fault 2: the broker stops. The collector answers 503 with Retry-After, and takes events again once it is back.
    await sleepUntil(22_000);
    brokerDown = true;
    await chatSending;
    await stopLocalServices(kafkaStateDir, ['kafka']);
    const whileDown = await waitFor(
      'the collector to answer 503',
      async () => {
        const answer = await probeCollector();
        return answer.status === 503 ? answer : null;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(whileDown.retryAfter).not.toBeNull();
    await relaunchLocalService('kafka', kafkaStateDir, brokerPort);
    await waitFor('the collector to take events again', async () => (await probeCollector()).status === 202, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
    brokerDown = false;

    // Fault 1 again, after the outage.
    await processor.kill('SIGKILL');
    await processor.start();
    // Consumer groups rejoin a restarted broker in their own time. The AI has to judge the threat
    // within its hold, and the detector closes chat buckets by the wall clock when chat stops
    // arriving, so both must be reading chat again before what follows means anything.
    await waitFor(
      'moderation and the highlight detector to read chat again',
      async () =>
        (await caughtUp('moderation.ai', TOPICS.chatMessages)) &&
        (await caughtUp('highlight-detector', TOPICS.chatMessages)),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    // A warm baseline from here on: calm chat goes on (again, if it had stopped) until the spike.
    spikeAt = Math.max(spikeAt, Date.now() + SPIKE_AFTER_MS);
    calmChat = calmChat.then(chatCalmly);
    calmChat.catch(() => undefined);

    // Abuse: an insult the heuristics let through (the AI removes it), a threat they hold (the AI
    // denies it) and self-promotion they hold for a moderator (nobody reviews it: the hold times out).
    const insult = await chatters[1]!.send('you are such an idiot');
    const threat = await chatters[2]!.send("i'll find you");
    const promotion = await chatters[3]!.send('check out my channel sub4sub');
    expect([insult.status, threat.status, promotion.status]).toEqual(['delivered', 'held', 'held']);

    // The hype spike, once the detector's baseline is warm: eight chatters, four lines each, within a bucket.
    await calmChat;
    await waitFor(
      'the highlight detector to have read the calm chat',
      () => caughtUp('highlight-detector', TOPICS.chatMessages),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await sleep(Math.max(0, spikeAt - Date.now()));
    const spike = await Promise.all(
      chatters.map(async (client, c) => {
        const acks = [];
        for (let k = 0; k < 4; k++) acks.push(await client.send(HYPE_LINES[(c + k) % HYPE_LINES.length]!));
        return acks;
      }),
    );
    accepted.push(...spike.flat());
    expect(accepted.filter((a) => a.status !== 'delivered')).toEqual([]);

    const traffic = await playing;
    expect(traffic.rejected).toEqual([]);
    // The viewers met the outage and delivered by retrying.
    expect(traffic.retries).toBeGreaterThan(0);

    // The spike's highlight, and fault 3: the clip worker dies while it encodes the clip's vertical version.
    const [spikeHighlight] = await waitFor(
      'the chat spike highlight in ClickHouse',
      async () => {
        const rows = await select<{ highlight_id: string; start: string; end: string; reasons: string[] }>(
          "SELECT highlight_id, toUnixTimestamp64Milli(window_start) AS start, toUnixTimestamp64Milli(window_end) AS end, reasons FROM highlights FINAL WHERE stream_id = {s:String} AND arrayExists(r -> startsWith(r, 'chat_spike'), reasons)",
          { s: streamId },
        );
        if (rows.length > 0) return rows;
        // Chat the detector read after its bucket had closed does not count; say how much there was.
        const late = /livepulse_highlight_late_chat_messages(?:\{[^}]*\})? (\d+)/.exec(
          await (await fetch(`${back.url}/metrics`)).text(),
        );
        throw new Error(`no chat spike yet; ${late?.[1] ?? 'unknown'} chat messages arrived late at the detector`);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const spikeClipId = clipId({
      streamId,
      startMs: Number(spikeHighlight!.start),
      endMs: Number(spikeHighlight!.end),
      profileVersion: profileVersion(clipProfileFromConfig(loadConfig(env).clips)),
    });
    await clipWorker.logged(
      `progress on the vertical version of ${spikeClipId}`,
      (r) => r.msg === 'clip job progress' && r.clipId === spikeClipId && r.phase === 'full',
      240_000,
    );
    await clipWorker.kill('SIGKILL');
    const finishedByRestarted = clipWorker.logged(
      `${spikeClipId} completed`,
      (r) => r.msg === 'clip job attempt finished' && r.clipId === spikeClipId && r.outcome === 'completed',
      300_000,
    );
    await clipWorker.start();

    // Analytics: every view ended and summarized, the sink caught up, every metric exact.
    await waitFor(
      'every view to end and be summarized in ClickHouse',
      async () => {
        const crashes = [front, processor, back, clipWorker].flatMap((p) => p.unexpectedExits);
        if (crashes.length > 0) throw new Error(crashes.join('\n'));
        const summarized = await countViewSummaries(store, truth.property_id);
        if (summarized !== truth.views) throw new Error(`${summarized} of ${truth.views} views summarized`);
        return true;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    await waitFor('the ClickHouse sink to catch up', () => caughtUp('clickhouse-sink', TOPICS.analyticsAggregates), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await expectAnalyticsToMatchTruth(store, truth);
    expect(await lateDeadLetters(bus, `whole-flow-dead-letters-${id}`)).toEqual([]);

    // Chat: each accepted message stored once; the abuse removed or denied, and the audit says why.
    const acceptedIds = [...accepted, insult, threat, promotion].map((a) => a.id!);
    await waitFor(
      'every accepted chat message in ClickHouse',
      async () => {
        const [row] = await select<{ n: string }>(
          'SELECT count() AS n FROM chat_messages FINAL WHERE stream_id = {s:String}',
          { s: streamId },
        );
        return Number(row!.n) === acceptedIds.length;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const removed = await observer.waitForEvent<{ id: string; reason: string }>(
      'message:removed',
      (p) => p.id === insult.id,
      60_000,
    );
    expect(removed.reason).toMatch(/^AI: .*harassment/);
    await chatters[2]!.waitForEvent<{ id: string; status: string }>(
      'message:status',
      (p) => p.id === threat.id && p.status === 'denied',
      60_000,
    );
    await chatters[3]!.waitForEvent<{ id: string; status: string }>(
      'message:status',
      (p) => p.id === promotion.id && p.status === 'denied',
      60_000,
    );
    const audit = await waitFor(
      'the audit rows of the three',
      async () => {
        const rows = await select<{
          message_id: string;
          source: string;
          action: string;
          reason: string;
          flag_categories: string[];
        }>(
          'SELECT message_id, source, action, reason, flag_categories FROM chat_moderation_events FINAL WHERE stream_id = {s:String} AND message_id IN {ids:Array(String)} ORDER BY decided_at',
          { s: streamId, ids: [insult.id, threat.id, promotion.id] },
        );
        return rows.length >= 3 ? rows : null;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(
      audit
        .map(({ message_id, source, action }) => ({ message_id, source, action }))
        .sort((a, b) => a.message_id.localeCompare(b.message_id)),
    ).toEqual(
      [
        { message_id: insult.id, source: 'ai', action: 'remove' },
        { message_id: threat.id, source: 'ai', action: 'deny' },
        { message_id: promotion.id, source: 'heuristics', action: 'deny' },
      ].sort((a, b) => a.message_id!.localeCompare(b.message_id!)),
    );
    const why = Object.fromEntries(audit.map((row) => [row.message_id, row]));
    expect(why[insult.id!]!.reason).toMatch(/^AI: .*harassment/);
    expect(why[threat.id!]!.reason).toMatch(/^AI: .*harassment/);
    expect(why[promotion.id!]!.reason).toBe('not reviewed before the hold timed out');
    expect(why[promotion.id!]!.flag_categories).toContain('spam.promotion');
    // A newcomer's history holds none of them.
    const newcomer = await ChatClient.connect(front.url);
    chatClients.push(newcomer);
    const { history = [] } = await newcomer.join(streamId);
    expect(history.map((m) => m.id)).not.toContain(insult.id);
    expect(history.map((m) => m.id).filter((m) => m === threat.id || m === promotion.id)).toEqual([]);

    // Host prompts: the host got suggestions from what chat asked, written by the model; viewers got none.
    const prompt = await host.waitForEvent<PromptEvent>(
      'prompt',
      (p) => p.streamId === streamId && p.source === 'ai',
      60_000,
    );
    expect(prompt.askers.length).toBeGreaterThan(0);
    for (const client of [...chatters, observer]) expect(client.events('prompt')).toEqual([]);
    await waitFor(
      'the prompt in ClickHouse',
      async () =>
        (await select('SELECT 1 FROM host_prompts FINAL WHERE prompt_id = {id:String}', { id: prompt.id })).length ===
        1,
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    // Clips: the restarted worker finished the spike's clip; one clip per highlight, in ClickHouse and in S3.
    await finishedByRestarted;
    const highlights = await select<{ highlight_id: string }>(
      'SELECT highlight_id FROM highlights FINAL WHERE stream_id = {s:String}',
      { s: streamId },
    );
    const clips = await waitFor(
      'a finished clip for every highlight',
      async () => {
        const rows = await select<{
          clip_id: string;
          highlight_id: string;
          status: string;
          outputs: Record<string, string>;
        }>('SELECT clip_id, highlight_id, status, outputs FROM clips FINAL WHERE stream_id = {s:String}', {
          s: streamId,
        });
        return rows.length === highlights.length && rows.every((r) => r.status === 'updated') ? rows : null;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    expect(clips.map((c) => c.highlight_id).sort()).toEqual(highlights.map((h) => h.highlight_id).sort());
    const manifests: string[] = [];
    for await (const object of objects.list('clips/'))
      if (object.key.endsWith('/manifest.json')) manifests.push(object.key);
    expect(manifests.sort()).toEqual(clips.map((c) => clipKeys.manifest(c.clip_id)).sort());

    const spikeClip = clips.find((c) => c.clip_id === spikeClipId)!;
    expect(spikeClip.highlight_id).toBe(spikeHighlight!.highlight_id);
    const manifest: unknown = JSON.parse((await objects.get(clipKeys.manifest(spikeClipId))).toString('utf8'));
    if (!clipManifestValidator.check(manifest))
      throw new Error(`invalid manifest: ${JSON.stringify(clipManifestValidator.errors(manifest))}`);
    expect(manifest.complete).toBe(true);
    for (const [name, expectation] of [
      [
        'mp4',
        {
          durationMs: manifest.covered.end - manifest.covered.start,
          toleranceMs: 300,
          video: true,
          audio: true,
          width: 320,
          height: 180,
        },
      ],
      [
        'vertical',
        {
          durationMs: manifest.requested.end - manifest.requested.start,
          toleranceMs: 300,
          video: true,
          audio: true,
          width: 720,
          height: 1280,
        },
      ],
    ] as const) {
      const path = join(scratch, `${name}.mp4`);
      await writeFile(path, await objects.get(spikeClip.outputs[name]!));
      await ffmpeg.decodeCheck(path);
      expect(mediaProblems(await ffmpeg.probe(path), expectation), `the ${name} version`).toEqual([]);
    }

    // Only the faults this test injected: no process died on its own (a broker outage included).
    expect([front, processor, back, clipWorker].flatMap((p) => p.unexpectedExits)).toEqual([]);
    expect({ processor: processor.kills, clipWorker: clipWorker.kills }).toEqual({ processor: 2, clipWorker: 1 });
  }, 900_000);
});

/** The reasons of every `late…` dead letter so far (lateness follows the log, so none are expected). */
async function lateDeadLetters(bus: KafkaBus, groupId: string): Promise<string[]> {
  const late: string[] = [];
  const reader = await bus.subscribe({
    groupId,
    topics: [TOPICS.deadLetters],
    handleBatch: (batch) => {
      for (const m of batch.messages)
        if ((m.headers[DEAD_LETTER_HEADERS.reason] ?? '').startsWith('late'))
          late.push(m.headers[DEAD_LETTER_HEADERS.reason]!);
      return Promise.resolve();
    },
  });
  try {
    const end = await bus.endOffsets(TOPICS.deadLetters);
    await waitFor(
      'reading the dead letters',
      async () =>
        (await bus.committedOffsets(groupId, TOPICS.deadLetters)).every((c, p) => c >= end[p]! || end[p] === 0),
      { timeoutMs: 60_000 },
    );
  } finally {
    await reader.stop();
  }
  return late;
}
