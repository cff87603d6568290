import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import { parseRecordingPrefix } from '../../core/ivs/recording-layout.ts';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../../core/object-store/object-store.ts';
import { S3ObjectStore } from '../../core/object-store/s3-object-store.ts';
import type { LocalServiceEndpoints } from '../../infra/local/service-definitions.ts';
import type { ClipJobDependencies } from '../clip-job.ts';
import { DEFAULT_CLIP_PROFILE, profileVersion, type ClipProfile } from '../../core/clips/clip-profile.ts';
import type { Ffmpeg } from '../ffmpeg/ffmpeg.ts';
import type { RecordingCandidate, RecordingLocator } from '../../core/ivs/recording-index.ts';
import type { SyntheticRecording } from '../../tools/live-stream/synthetic-stream.ts';

/** What the clip worker's tests share: small recordings, a small profile, and seams to observe writes. */
export const TEST_ACCOUNT = '123456789012';

/** Low resolution and fast presets: the machine running the tests has two cores. */
export const TEST_RENDITIONS = [
  { name: '180p30', width: 320, height: 180, videoKbps: 300 },
  { name: '90p30', width: 160, height: 90, videoKbps: 100 },
];

export const TEST_CLIP_PROFILE: ClipProfile = {
  ...DEFAULT_CLIP_PROFILE,
  landscape: { crf: 28, preset: 'ultrafast' },
  vertical: { width: 180, height: 320, crf: 30, preset: 'ultrafast' },
  posterWidth: 320,
};

/** An S3 store on the test server, under a prefix of its own so test runs never meet. */
export function testS3Store(services: LocalServiceEndpoints, label: string): S3ObjectStore {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } = services.s3;
  return new S3ObjectStore({
    endpoint,
    bucket,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    prefix: `${label}-${randomUUID()}`,
  });
}

/** Delegates to a store and logs every put and delete, in order. */
export class ObservedObjectStore implements ObjectStore {
  readonly writes: Array<{ op: 'put' | 'delete'; key: string }> = [];

  constructor(private readonly inner: ObjectStore) {}

  get kind() {
    return this.inner.kind;
  }

  async put(key: string, body: ObjectBody, options?: PutOptions): Promise<void> {
    await this.inner.put(key, body, options);
    this.writes.push({ op: 'put', key });
  }

  get(key: string): Promise<Buffer> {
    return this.inner.get(key);
  }

  getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    return this.inner.getStream(key, range);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
    this.writes.push({ op: 'delete', key });
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A locator that knows the recordings it is given (the ClickHouse one is tested on its own). */
export class StaticRecordingLocator implements RecordingLocator {
  readonly byStream = new Map<string, RecordingCandidate[]>();

  add(recording: SyntheticRecording, ended = true): void {
    const candidate: RecordingCandidate = {
      prefix: recording.prefix,
      channelId: recording.channelId,
      accountId: parseRecordingPrefix(recording.prefix).accountId,
      bucket: '',
      startedAtMs: recording.startedAt.getTime(),
      failed: false,
    };
    if (ended) candidate.endedAtMs = recording.endedAt.getTime();
    this.byStream.set(recording.streamId, [...(this.byStream.get(recording.streamId) ?? []), candidate]);
  }

  recordingsOf(streamId: string): Promise<RecordingCandidate[]> {
    return Promise.resolve(this.byStream.get(streamId) ?? []);
  }
}

export function testJobDependencies(
  options: Pick<ClipJobDependencies, 'objectStore' | 'ffmpeg' | 'locator' | 'publishClipEvent'> &
    Partial<ClipJobDependencies> & { ffmpeg: Ffmpeg },
): ClipJobDependencies {
  return {
    profile: TEST_CLIP_PROFILE,
    profileVersion: profileVersion(TEST_CLIP_PROFILE),
    ivsRegion: 'us-east-1',
    workDirectory: process.env.TMPDIR ?? '/tmp',
    liveWaitMs: 30_000,
    livePollMs: 500,
    recordingGraceMs: 600_000,
    logger: pino({ level: 'silent' }),
    ...options,
  };
}

/**
 * Environment for a platform (in this process or a child) on the real services, isolated by a
 * topic prefix, a ClickHouse database and an S3 prefix of its own.
 */
export function distributedEnv(
  services: LocalServiceEndpoints,
  isolation: { topicPrefix: string; database: string; s3Prefix: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: '0',
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: services.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: isolation.topicPrefix,
    KAFKA_PARTITIONS: '2',
    KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    REDIS_URL: services.redisUrl,
    CLICKHOUSE_URL: services.clickhouseUrl,
    CLICKHOUSE_DATABASE: isolation.database,
    S3_BUCKET: services.s3.bucket,
    S3_ENDPOINT: services.s3.endpoint,
    S3_REGION: services.s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    S3_PREFIX: isolation.s3Prefix,
    AWS_ACCESS_KEY_ID: services.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: services.s3.secretAccessKey,
    LIVEPULSE_WRITE_KEYS: 'clips:wk_clips_0123456789abcdef',
    LIVEPULSE_JWT_SECRET: 'c'.repeat(32),
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'clips-ivs-secret-0123',
    CLIP_SCAN_INTERVAL_MS: '500',
    CLIP_X264_PRESET: 'ultrafast',
    CLIP_VERTICAL_SIZE: '180x320',
    ...extra,
  };
}

/** Deletes everything a test wrote (its store is scoped to a prefix of its own), so runs leave the shared bucket as they found it. */
export async function emptyStore(store: ObjectStore): Promise<void> {
  const keys: string[] = [];
  for await (const object of store.list('')) keys.push(object.key);
  for (const key of keys) await store.delete(key);
}
