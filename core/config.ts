import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { parseTrustedProxies } from './http/trusted-proxies.ts';

/**
 * The one typed configuration of Livepulse, read from the environment.
 * With nothing set, every port uses its embedded adapter. Setting a port's variable switches
 * that port to the real system; a bad value fails at start with a message naming the variable.
 */

const DEV_WRITE_KEY = 'lp_dev_write_key';
const DEV_JWT_SECRET = 'livepulse-dev-only-jwt-secret-do-not-use-in-production';
const DEV_IVS_WEBHOOK_SECRET = 'livepulse-dev-only-ivs-webhook-secret';
/** infra/deploy/.env.example's placeholders ("replace every change-me value"): as public as the development values. */
const PLACEHOLDER = /^change-me/;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

const brokerList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine((brokers) => brokers.length > 0 && brokers.every((b) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(b)), {
    message: 'must be a comma-separated list of host:port',
  });

export const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().trim().default('127.0.0.1'),
  LIVEPULSE_TRUSTED_PROXIES: optionalString,
  LIVEPULSE_DATA_DIR: z.string().trim().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: coloured lines for a person at a terminal, JSON lines for everything else (collectors, files, pipes).
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),

  LIVEPULSE_WRITE_KEYS: optionalString,
  LIVEPULSE_JWT_SECRET: optionalString,
  LIVEPULSE_JWKS_URL: url(['https:', 'http:']).optional(),
  LIVEPULSE_WRITE_KEY_ORIGINS: optionalString,
  LIVEPULSE_IVS_WEBHOOK_SECRET: optionalString,
  LIVEPULSE_IP_HASH_SECRET: optionalString,
  LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(31_536_000).default(86_400),

  INGEST_MAX_EVENTS_PER_REQUEST: positiveInt(300),
  INGEST_MAX_BODY_BYTES: positiveInt(512 * 1024),
  INGEST_BODY_TIMEOUT_MS: positiveInt(10_000),
  INGEST_DEDUPE_WINDOW_MS: positiveInt(300_000),
  INGEST_MAX_EVENT_AGE_MS: positiveInt(86_400_000),
  INGEST_CMCD_MAX_REPORTS_PER_SESSION: positiveInt(20_000),
  INGEST_PUBLISH_DEADLINE_MS: positiveInt(5_000),

  KAFKA_BROKERS: brokerList.optional(),
  KAFKA_CLIENT_ID: z.string().trim().default('livepulse'),
  // Which Kafka client library the bus uses; both keep the same topics, groups, offsets and key placement.
  KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]*$/, 'must contain only letters, digits, . _ -')
    .default(''),
  KAFKA_PARTITIONS: positiveInt(6),
  KAFKA_REPLICATION_FACTOR: positiveInt(1),
  KAFKA_SSL: boolean(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,

  BUS_LINGER_MS: nonNegativeInt(5),
  BUS_MAX_BATCH_MESSAGES: positiveInt(2000),
  BUS_MAX_BUFFERED_MESSAGES: positiveInt(100_000),
  EMBEDDED_BUS_PARTITIONS: positiveInt(4),
  EMBEDDED_BUS_MAX_RETAINED_MESSAGES: positiveInt(1_000_000),
  // full: an acknowledged publish is fsynced (survives a power loss); normal: written, survives the process only.
  EMBEDDED_BUS_SYNC: z.enum(['full', 'normal']).default('full'),
  EMBEDDED_BUS_GROUP_RETENTION_MS: positiveInt(3_600_000),
  KAFKA_PRODUCERS: z.coerce.number().int().min(1).max(16).default(3),
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),

  ANALYTICS_WINDOW_MS: positiveInt(10_000),
  ANALYTICS_ALLOWED_LATENESS_MS: nonNegativeInt(30_000),
  ANALYTICS_VIEW_INACTIVE_MS: positiveInt(25_000),
  ANALYTICS_VIEW_END_SILENCE_MS: positiveInt(60_000),
  ANALYTICS_PAUSED_VIEW_END_MS: positiveInt(3_600_000),
  ANALYTICS_MAX_REBUFFER_MS: positiveInt(300_000),
  ANALYTICS_EMIT_INTERVAL_MS: positiveInt(1_000),
  ANALYTICS_IDLE_ADVANCE_MS: positiveInt(2_000),
  ANALYTICS_MAX_VIEWS_PER_PARTITION: positiveInt(200_000),
  // Kafka only (the embedded bus is one in-process log): auto = the available cores, capped by player.events' partitions.
  ANALYTICS_WORKER_THREADS: z
    .string()
    .trim()
    .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a whole number of threads from 1 to 999')
    .default('auto'),

  CLICKHOUSE_URL: url(['http:', 'https:']).optional(),
  CLICKHOUSE_USER: z.string().trim().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .trim()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('livepulse'),

  REDIS_URL: url(['redis:', 'rediss:']).optional(),

  S3_BUCKET: optionalString,
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_REGION: z.string().trim().default('us-east-1'),
  S3_FORCE_PATH_STYLE: boolean(false),
  S3_PREFIX: z.string().trim().default(''),

  IVS_REGION: z
    .string()
    .trim()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-west-2')
    .default('us-east-1'),
  IVS_ENDPOINT: url(['http:', 'https:']).optional(),

  FFMPEG_PATH: z.string().trim().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().trim().min(1).default('ffprobe'),
  CLIP_WORKER_CONCURRENCY: positiveInt(2),
  CLIP_MAX_ATTEMPTS: positiveInt(5),
  CLIP_LEASE_MS: z.coerce.number().int().min(3_000).max(600_000).default(30_000),
  CLIP_SCAN_INTERVAL_MS: positiveInt(2_000),
  CLIP_LIVE_WAIT_MS: nonNegativeInt(45_000),
  CLIP_RECORDING_GRACE_MS: positiveInt(600_000),
  CLIP_WORK_DIR: optionalString,
  CLIP_VERTICAL_SIZE: z
    .string()
    .trim()
    .regex(/^\d{2,4}x\d{2,4}$/, 'must be WIDTHxHEIGHT, e.g. 720x1280')
    .default('720x1280'),
  CLIP_X264_PRESET: z
    .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'])
    .default('veryfast'),
  CLIP_LOUDNESS_LUFS: z.coerce.number().min(-70).max(-5).default(-14),
  CLIP_PUT_METADATA: boolean(false),

  HIGHLIGHT_Z_THRESHOLD: z.coerce.number().positive().default(3),
  HIGHLIGHT_MIN_MESSAGES: positiveInt(10),
  HIGHLIGHT_MIN_CHATTERS: positiveInt(5),
  HIGHLIGHT_COOLDOWN_MS: nonNegativeInt(45_000),
  HIGHLIGHT_PRE_ROLL_MS: nonNegativeInt(20_000),
  HIGHLIGHT_POST_ROLL_MS: nonNegativeInt(10_000),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url(['http:', 'https:']).optional(),
  OPENAI_MODERATION_MODEL: z.string().trim().default('omni-moderation-latest'),
  OPENAI_CHAT_MODEL: z.string().trim().default('gpt-4o-mini'),

  CHAT_MAX_MESSAGE_LENGTH: z.coerce.number().int().min(1).max(2_000).default(500),
  CHAT_FLOOD_MESSAGES: positiveInt(20),
  CHAT_PRIVILEGED_FLOOD_MESSAGES: positiveInt(100),
  CHAT_FLOOD_WINDOW_MS: positiveInt(30_000),
  CHAT_HOLD_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
  CHAT_HOLD_TIMEOUT_ACTION: z.enum(['deny', 'release']).default('deny'),
  CHAT_HISTORY_SIZE: z.coerce.number().int().min(0).max(500).default(50),
  CHAT_ANONYMOUS_VIEWERS: boolean(true),
  CHAT_CONNECTIONS_PER_MINUTE: positiveInt(30),
  CHAT_SOCKET_EVENTS_PER_10S: positiveInt(40),
  MODERATION_AI_BACKEND: z.enum(['auto', 'moderations', 'chat']).default('auto'),
  MODERATION_AI_GUARD_MODEL: optionalString,
  MODERATION_AI_TIMEOUT_MS: positiveInt(5_000),
  MODERATION_AI_MAX_RETRIES: nonNegativeInt(2),
  MODERATION_AI_BATCH_SIZE: z.coerce.number().int().min(1).max(256).default(32),
  MODERATION_AI_CONCURRENCY: positiveInt(4),
  MODERATION_AI_BUDGET_PER_MINUTE: positiveInt(600),
  MODERATION_AI_BREAKER_FAILURES: positiveInt(5),
  MODERATION_AI_BREAKER_COOLDOWN_MS: positiveInt(30_000),
  MODERATION_ENCODER: boolean(true),
  MODERATION_ENCODER_BATCH_SIZE: z.coerce.number().int().min(1).max(256).default(32),
  HOST_PROMPTS_WINDOW_MS: z.coerce.number().int().min(5_000).max(600_000).default(90_000),
  HOST_PROMPTS_INTERVAL_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  HOST_PROMPTS_MIN_MESSAGES: positiveInt(5),
  HOST_PROMPTS_MAX_SUGGESTIONS: z.coerce.number().int().min(1).max(10).default(3),
  HOST_PROMPTS_AI_CALLS_PER_STREAM_PER_MINUTE: positiveInt(2),
  HOST_PROMPTS_AI_CALLS_PER_MINUTE: positiveInt(60),
  HOST_PROMPTS_AI_TOKENS_PER_MINUTE: positiveInt(100_000),
  HOST_PROMPTS_AI_MAX_COMPLETION_TOKENS: z.coerce.number().int().min(64).max(4_096).default(600),
  HOST_PROMPTS_AI_TIMEOUT_MS: positiveInt(10_000),
  HOST_PROMPTS_AI_MAX_RETRIES: nonNegativeInt(1),

  SNOWFLAKE_ACCOUNT: optionalString,
  SNOWFLAKE_USERNAME: optionalString,
  SNOWFLAKE_PASSWORD: optionalString,
  SNOWFLAKE_DATABASE: z.string().trim().default('LIVEPULSE'),
  SNOWFLAKE_SCHEMA: z.string().trim().default('PUBLIC'),
  SNOWFLAKE_WAREHOUSE: optionalString,
  SNOWFLAKE_ACCESS_URL: url(['http:', 'https:']).optional(),
});

export type Env = z.input<typeof EnvSchema>;

export interface WriteKey {
  key: string;
  propertyId: string;
}

export interface Config {
  mode: 'embedded' | 'distributed';
  http: {
    port: number;
    host: string;
    /** Addresses and CIDR ranges whose X-Forwarded-For is believed; none by default. */
    trustedProxies: string[];
  };
  dataDir: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** `auto` is `pretty` when stdout is a terminal, else `json` (core/logger.ts). */
  logFormat: z.infer<typeof EnvSchema>['LOG_FORMAT'];
  auth: {
    writeKeys: WriteKey[];
    jwtSecret?: string;
    jwksUrl?: string;
    /** Browser origins allowed to use each property's write keys; a property not listed accepts any origin. */
    writeKeyOrigins: Record<string, string[]>;
    /** Shared secret EventBridge sends (API destination header) with IVS state-change events. */
    ivsWebhookSecret: string;
    /** The credentials that are published development values, as NAME=value (embedded mode only). */
    developmentCredentials: string[];
    /**
     * Secrets neither set nor given development values, because other credentials are set: a
     * random per-process value stands in, so nothing from outside can match it.
     */
    randomSecrets: string[];
    /** Chat and API tokens living longer than this (`iat` or now to `exp`) are refused. */
    maxTokenLifetimeSeconds: number;
  };
  ingest: IngestSettings;
  /** Amazon IVS control plane (`livepulse ivs …`, timed metadata); the endpoint is for IVS-compatible test servers. */
  ivs: { region: string; endpoint?: string };
  clips: ClipWorkerSettings;
  highlights: HighlightDetectorSettings;
  analytics: AnalyticsSettings;
  /**
   * Worker threads running the viewer-analytics processor, each a member of its consumer group
   * (Kafka only; the embedded bus is one in-process log, so there it stays in the main thread).
   * `auto`: the available cores, capped by the partitions of player.events; 1: in the main thread.
   */
  analyticsWorkerThreads: number | 'auto';
  bus:
    | {
        kind: 'embedded';
        /** The log's SQLite file, in the data directory. */
        path: string;
        synchronous: 'full' | 'normal';
        /** How long a consumer group without members holds back its topics' retention. */
        groupRetentionMs: number;
        partitions: number;
        maxRetainedMessages: number;
        publish: PublishTuning;
      }
    | {
        kind: 'kafka';
        /** The client library: kafkajs, or @platformatic/kafka (core/bus/platformatic-kafka-bus.ts). */
        client: 'kafkajs' | 'platformatic';
        brokers: string[];
        clientId: string;
        topicPrefix: string;
        partitions: number;
        replicationFactor: number;
        ssl: boolean;
        sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
        publish: PublishTuning;
        /** Idempotent producers publishing side by side; a key always uses the same one. */
        producers: number;
        /** How long the group waits for a silent member (e.g. one killed with SIGKILL) before reassigning its partitions. */
        consumerSessionTimeoutMs: number;
      };
  analyticsStore:
    | { kind: 'chdb'; path: string; database: string }
    | { kind: 'clickhouse'; url: string; username: string; password: string; database: string };
  liveState: { kind: 'memory' } | { kind: 'redis'; url: string };
  objectStore:
    | { kind: 'local'; root: string }
    | { kind: 's3'; bucket: string; endpoint?: string; region: string; forcePathStyle: boolean; prefix: string };
  ai:
    | { kind: 'off' }
    | { kind: 'openai'; apiKey: string; baseURL?: string; moderationModel: string; chatModel: string };
  chat: {
    maxMessageLength: number;
    /** Messages per user per window (Twitch: 20 per 30 s, 100 for moderators and the broadcaster). */
    flood: { messages: number; privilegedMessages: number; windowMs: number };
    /** How long a held message waits for a moderator or the AI, and what happens then. */
    hold: { timeoutMs: number; onTimeout: 'deny' | 'release' };
    historySize: number;
    /** Default for new streams: viewers without a role may read (never write). */
    anonymousViewers: boolean;
    /** socket.io connections per user (or per address, for anonymous viewers) per minute. */
    connectionsPerMinute: number;
    /** Events one socket may send per 10 s before they are refused (and, far past it, the socket dropped). */
    socketEventsPer10s: number;
  };
  moderation: {
    ai: {
      /** `auto` tries /moderations and falls back to a guard model over chat completions when the server has none. */
      backend: 'auto' | 'moderations' | 'chat';
      /** Model for chat-completions classification (Llama Guard style); defaults to the chat model. */
      guardModel: string;
      timeoutMs: number;
      maxRetries: number;
      batchSize: number;
      concurrency: number;
      budgetPerMinute: number;
      breaker: { failureThreshold: number; cooldownMs: number };
    };
    /** The sentence-encoder layer in the moderation processor (local, no network; docs/moderation.md). */
    encoder: { enabled: boolean; batchSize: number };
  };
  /** Host prompts (stream-processors/host-prompts): the chat window, its cadence and the AI's cost limits. */
  hostPrompts: HostPromptSettings;
  warehouse:
    | { kind: 'off' }
    | {
        kind: 'snowflake';
        account: string;
        username: string;
        password: string;
        database: string;
        schema: string;
        warehouse?: string;
        accessUrl?: string;
      };
}

/** Host prompts: see docs/host-prompts.md. */
export interface HostPromptSettings {
  /** The sliding window of chat a prompt is built from. */
  windowMs: number;
  /** How often a stream's window is examined. */
  intervalMs: number;
  /** New messages a window needs before it is examined (quiet chat is skipped). */
  minMessages: number;
  /** Suggestions per window (K). */
  maxSuggestions: number;
  ai: {
    callsPerStreamPerMinute: number;
    callsPerMinute: number;
    /** Estimated prompt tokens plus the completion limit, reserved before each call. */
    tokensPerMinute: number;
    maxCompletionTokens: number;
    timeoutMs: number;
    maxRetries: number;
  };
}

/** Limits and windows of the player-event collector (ingest-api). */
export interface IngestSettings {
  maxEventsPerRequest: number;
  maxBodyBytes: number;
  /** A request body not fully received within this time is answered 408 (slow-body protection). */
  bodyTimeoutMs: number;
  /** How long an event_id is remembered to drop retried duplicates. */
  dedupeWindowMs: number;
  /** Events older than this (after clock correction) are rejected. */
  maxEventAgeMs: number;
  /** A CMCD session sending more reports than this is told to stop (410). */
  cmcdMaxReportsPerSession: number;
  /** Longest a request waits for the bus before it is answered 503 (the publish itself carries on). */
  publishDeadlineMs: number;
  /** Keys the client-IP hash; without it a random per-process secret is used. */
  ipHashSecret?: string;
}

/**
 * Viewer analytics (stream-processors/viewer-analytics): event-time windows, the watermark's
 * allowed lateness and the per-view timeouts. See docs/analytics.md for what each one means.
 */
export interface AnalyticsSettings {
  /** Tumbling window length; divides a minute so that per-minute peaks and rollups line up. */
  windowMs: number;
  /** Events older than the watermark minus this go to the side output (dead-letters), not into windows. */
  allowedLatenessMs: number;
  /** A view with no event for this long stops counting as concurrent (~2.5 missed heartbeats). */
  inactiveAfterMs: number;
  /** A view silent for this long has ended (Mux: 60 s). */
  endAfterSilenceMs: number;
  /** A paused view (which sends no heartbeats) ends after this much silence instead (Mux: 60 min). */
  pausedEndAfterMs: number;
  /** A view rebuffering for longer than this stops counting as concurrent (Mux: 5 min). */
  maxRebufferMs: number;
  /** The checkpoint interval per partition: state persisted, open windows re-emitted (early results), offsets committed. */
  emitIntervalMs: number;
  /** A caught-up partition with no events for this long moves its watermark to this long ago. */
  idleAdvanceMs: number;
  /** Views kept in memory per partition; past it, the least recently updated view is ended. */
  maxViewsPerPartition: number;
}

/** The clip worker (clip-worker/): ffmpeg, job slots, leases and waits, and the output profile. */
export interface ClipWorkerSettings {
  ffmpegPath: string;
  ffprobePath: string;
  /** Jobs one worker runs at once (each runs one ffmpeg at a time). */
  concurrency: number;
  /** Attempts that fail for a passing reason before a job is given up. */
  maxAttempts: number;
  /** A worker that stops renewing a job's lease for this long loses the job to another. */
  leaseMs: number;
  /** How often open jobs are scanned (jobs of dead workers, retries that are due). */
  scanIntervalMs: number;
  /** How long a job waits in its slot for a live recording to reach the window's end before it yields the slot. */
  liveWaitMs: number;
  /** How long after a window's end its recording may still appear (IVS events can be late). */
  recordingGraceMs: number;
  /** Where jobs keep their temporary files; the system's temporary directory by default. */
  workDirectory?: string;
  vertical: { width: number; height: number };
  x264Preset: string;
  loudnessLufs: number;
  /** Mark each new clip in the live stream with IVS timed metadata (PutMetadata). */
  putMetadata: boolean;
}

/** The highlight detector (stream-processors/highlights/): thresholds and the clip window around a spike. */
export interface HighlightDetectorSettings {
  zThreshold: number;
  minMessages: number;
  minUniqueChatters: number;
  cooldownMs: number;
  preRollMs: number;
  postRollMs: number;
}

export interface PublishTuning {
  lingerMs: number;
  maxBatchMessages: number;
  maxBufferedMessages: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * `property=origin,origin;property=*`: the browser origins allowed per property. An origin is
 * `scheme://host[:port]`, `scheme://*.domain` for any subdomain, or `*` for any origin.
 */
const ORIGIN_PATTERN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/;
function parseWriteKeyOrigins(raw: string, writeKeys: WriteKey[], problems: string[]): Record<string, string[]> {
  // No prototype: a property may be called `constructor` or `__proto__`.
  const origins: Record<string, string[]> = Object.create(null);
  for (const entry of raw
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const propertyId = equals === -1 ? '' : entry.slice(0, equals).trim();
    if (!propertyId) {
      problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: "${entry}" must be property=origin[,origin]`);
      continue;
    }
    if (!writeKeys.some((wk) => wk.propertyId === propertyId)) {
      problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: property "${propertyId}" has no write key in LIVEPULSE_WRITE_KEYS`);
    }
    const list = entry
      .slice(equals + 1)
      .split(',')
      .map((o) => o.trim().replace(/\/$/, ''))
      .filter(Boolean);
    if (list.length === 0) problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: property "${propertyId}" lists no origin`);
    for (const origin of list) {
      if (origin !== '*' && !ORIGIN_PATTERN.test(origin)) {
        problems.push(
          `LIVEPULSE_WRITE_KEY_ORIGINS: "${origin}" (property "${propertyId}") is not an origin like https://app.example or https://*.example`,
        );
      }
    }
    origins[propertyId] = list.map((o) => o.toLowerCase());
  }
  return origins;
}

/** `key` alone (property "default") or `property:key`, comma-separated. */
function parseWriteKeys(raw: string): WriteKey[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon === -1
        ? { key: entry, propertyId: 'default' }
        : { propertyId: entry.slice(0, colon).trim(), key: entry.slice(colon + 1).trim() };
    });
}

interface Credentials {
  writeKeys: WriteKey[];
  jwtSecret?: string;
  ivsWebhookSecret: string;
  developmentCredentials: string[];
  randomSecrets: string[];
}

/**
 * The credentials, checked. Distributed mode requires real ones and refuses the published
 * development values even when they are set explicitly. Embedded mode fills in the development
 * JWT and IVS webhook secrets only for a development run, one where no credential of the
 * operator's own is set: once a real write key, JWT secret, JWKS URL, IVS webhook secret or IP
 * hash secret is set, a missing JWT or IVS webhook secret becomes a random per-process one, which
 * nobody outside can match (every token, every webhook delivery is refused), rather than the
 * public development secret anyone could sign admin tokens with.
 */
function resolveCredentials(e: z.infer<typeof EnvSchema>, distributed: boolean, problems: string[]): Credentials {
  const developmentCredentials: string[] = [];
  const randomSecrets: string[] = [];
  const published = (variable: string, value: string) => {
    if (distributed)
      problems.push(`${variable}: is the published development value; distributed mode needs one of your own`);
    else developmentCredentials.push(`${variable}=${value}`);
  };
  const placeholder = (variable: string, value: string | undefined) => {
    if (distributed && value !== undefined && PLACEHOLDER.test(value))
      problems.push(
        `${variable}: still a change-me placeholder from .env.example; replace it (e.g. openssl rand -hex 32)`,
      );
  };

  let writeKeys: WriteKey[] = [];
  if (e.LIVEPULSE_WRITE_KEYS) {
    writeKeys = parseWriteKeys(e.LIVEPULSE_WRITE_KEYS);
    for (const wk of writeKeys) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(wk.propertyId))
        problems.push(`LIVEPULSE_WRITE_KEYS: property id "${wk.propertyId}" must be 1–64 letters, digits, . _ -`);
      if (wk.key.length < 16)
        problems.push(`LIVEPULSE_WRITE_KEYS: the key for property "${wk.propertyId}" is shorter than 16 characters`);
      if (wk.key === DEV_WRITE_KEY) published('LIVEPULSE_WRITE_KEYS', `${wk.propertyId}:${DEV_WRITE_KEY}`);
      placeholder('LIVEPULSE_WRITE_KEYS', wk.key);
    }
  } else if (distributed) {
    problems.push('LIVEPULSE_WRITE_KEYS: required in distributed mode (comma-separated, `property:key`)');
  } else {
    writeKeys = [{ key: DEV_WRITE_KEY, propertyId: 'demo' }];
    developmentCredentials.push(`LIVEPULSE_WRITE_KEYS=demo:${DEV_WRITE_KEY}`);
  }

  // Decided before any development value is filled in: only the operator's own values count.
  const realCredentialSet =
    writeKeys.some((wk) => wk.key !== DEV_WRITE_KEY) ||
    [e.LIVEPULSE_JWT_SECRET, e.LIVEPULSE_IVS_WEBHOOK_SECRET].some(
      (secret) => secret !== undefined && secret !== DEV_JWT_SECRET && secret !== DEV_IVS_WEBHOOK_SECRET,
    ) ||
    e.LIVEPULSE_JWKS_URL !== undefined ||
    e.LIVEPULSE_IP_HASH_SECRET !== undefined;
  /** Distributed mode's problem, a random secret once real credentials are set, or else the development value. */
  const missingSecret = (variable: string, developmentValue: string, problem: string): string | undefined => {
    if (distributed) {
      problems.push(problem);
      return undefined;
    }
    if (realCredentialSet) {
      randomSecrets.push(variable);
      return randomBytes(32).toString('base64url');
    }
    developmentCredentials.push(`${variable}=${developmentValue}`);
    return developmentValue;
  };

  let jwtSecret = e.LIVEPULSE_JWT_SECRET;
  if (jwtSecret && jwtSecret.length < 32) problems.push('LIVEPULSE_JWT_SECRET: must be at least 32 characters');
  if (jwtSecret === DEV_JWT_SECRET) published('LIVEPULSE_JWT_SECRET', DEV_JWT_SECRET);
  placeholder('LIVEPULSE_JWT_SECRET', jwtSecret);
  if (!jwtSecret && !e.LIVEPULSE_JWKS_URL) {
    jwtSecret = missingSecret(
      'LIVEPULSE_JWT_SECRET',
      DEV_JWT_SECRET,
      'LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL: one is required in distributed mode',
    );
  }

  let ivsWebhookSecret = e.LIVEPULSE_IVS_WEBHOOK_SECRET;
  if (ivsWebhookSecret && ivsWebhookSecret.length < 16)
    problems.push('LIVEPULSE_IVS_WEBHOOK_SECRET: must be at least 16 characters');
  if (ivsWebhookSecret === DEV_IVS_WEBHOOK_SECRET) published('LIVEPULSE_IVS_WEBHOOK_SECRET', DEV_IVS_WEBHOOK_SECRET);
  placeholder('LIVEPULSE_IVS_WEBHOOK_SECRET', ivsWebhookSecret);
  placeholder('LIVEPULSE_IP_HASH_SECRET', e.LIVEPULSE_IP_HASH_SECRET);
  if (!ivsWebhookSecret) {
    ivsWebhookSecret = missingSecret(
      'LIVEPULSE_IVS_WEBHOOK_SECRET',
      DEV_IVS_WEBHOOK_SECRET,
      'LIVEPULSE_IVS_WEBHOOK_SECRET: required in distributed mode (the header value of the EventBridge API destination)',
    );
  }
  // Unset only in distributed mode, where a problem is recorded and loadConfig throws.
  return { writeKeys, jwtSecret, ivsWebhookSecret: ivsWebhookSecret ?? '', developmentCredentials, randomSecrets };
}

/**
 * The secret this process signs tokens with (`livepulse token`, `livepulse api-token`), or why it
 * cannot sign tokens a server would accept: none is set, tokens come from a JWKS identity
 * provider, or a random per-process secret stands in, which no other process shares.
 */
export function tokenSigningSecret(
  auth: Pick<Config['auth'], 'jwtSecret' | 'jwksUrl'> & Partial<Pick<Config['auth'], 'randomSecrets'>>,
): { secret: string } | { problem: string } {
  if (auth.jwtSecret && auth.randomSecrets?.includes('LIVEPULSE_JWT_SECRET')) {
    return {
      problem:
        'LIVEPULSE_JWT_SECRET is not set, and other credentials are, so the server signs with a random secret of its own: set LIVEPULSE_JWT_SECRET for the server and for this command',
    };
  }
  if (auth.jwtSecret) return { secret: auth.jwtSecret };
  if (auth.jwksUrl)
    return {
      problem:
        'this server verifies tokens with LIVEPULSE_JWKS_URL: get tokens from that identity provider (minting needs LIVEPULSE_JWT_SECRET)',
    };
  return { problem: 'minting needs LIVEPULSE_JWT_SECRET' };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const distributed = Boolean(e.KAFKA_BROKERS || e.CLICKHOUSE_URL || e.REDIS_URL || e.S3_BUCKET);

  const { writeKeys, jwtSecret, ivsWebhookSecret, developmentCredentials, randomSecrets } = resolveCredentials(
    e,
    distributed,
    problems,
  );
  const writeKeyOrigins = e.LIVEPULSE_WRITE_KEY_ORIGINS
    ? parseWriteKeyOrigins(e.LIVEPULSE_WRITE_KEY_ORIGINS, writeKeys, problems)
    : {};
  const trusted = parseTrustedProxies(e.LIVEPULSE_TRUSTED_PROXIES ?? '');
  if (!trusted.ok) problems.push(...trusted.problems.map((problem) => `LIVEPULSE_TRUSTED_PROXIES: ${problem}`));
  const trustedProxies = trusted.ok ? trusted.proxies : [];
  if (e.LIVEPULSE_IP_HASH_SECRET && e.LIVEPULSE_IP_HASH_SECRET.length < 16)
    problems.push('LIVEPULSE_IP_HASH_SECRET: must be at least 16 characters');

  if (e.KAFKA_SASL_MECHANISM && !(e.KAFKA_SASL_USERNAME && e.KAFKA_SASL_PASSWORD)) {
    problems.push('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set');
  }
  if (e.S3_ENDPOINT && !e.S3_BUCKET) problems.push('S3_BUCKET: required when S3_ENDPOINT is set');
  if (e.OPENAI_BASE_URL && !e.OPENAI_API_KEY)
    problems.push('OPENAI_API_KEY: required when OPENAI_BASE_URL is set (any value for local servers)');
  const snowflakeSet = [e.SNOWFLAKE_ACCOUNT, e.SNOWFLAKE_USERNAME, e.SNOWFLAKE_PASSWORD];
  if (snowflakeSet.some(Boolean) && !snowflakeSet.every(Boolean)) {
    problems.push('SNOWFLAKE_ACCOUNT, SNOWFLAKE_USERNAME and SNOWFLAKE_PASSWORD: set all three or none');
  }
  if (60_000 % e.ANALYTICS_WINDOW_MS !== 0 || e.ANALYTICS_WINDOW_MS % 1_000 !== 0) {
    problems.push(
      'ANALYTICS_WINDOW_MS: must be whole seconds that divide a minute (1000, 2000, 5000, 10000, 15000, 20000, 30000, 60000)',
    );
  }
  if (e.ANALYTICS_VIEW_END_SILENCE_MS < e.ANALYTICS_VIEW_INACTIVE_MS) {
    problems.push(
      'ANALYTICS_VIEW_END_SILENCE_MS: must be at least ANALYTICS_VIEW_INACTIVE_MS (a view is inactive before it ends)',
    );
  }
  if (e.ANALYTICS_PAUSED_VIEW_END_MS < e.ANALYTICS_VIEW_END_SILENCE_MS) {
    problems.push('ANALYTICS_PAUSED_VIEW_END_MS: must be at least ANALYTICS_VIEW_END_SILENCE_MS');
  }
  const [verticalWidth, verticalHeight] = e.CLIP_VERTICAL_SIZE.split('x').map(Number) as [number, number];
  if (verticalWidth % 2 !== 0 || verticalHeight % 2 !== 0)
    problems.push('CLIP_VERTICAL_SIZE: width and height must be even (H.264 4:2:0)');
  if (e.HIGHLIGHT_PRE_ROLL_MS + e.HIGHLIGHT_POST_ROLL_MS > 60_000)
    problems.push('HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS: a highlight is at most 60000 ms');
  if (e.HIGHLIGHT_PRE_ROLL_MS + e.HIGHLIGHT_POST_ROLL_MS < 5_000)
    problems.push('HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS: a highlight is at least 5000 ms');
  if (problems.length > 0) throw new ConfigError(problems);

  const publish: PublishTuning = {
    lingerMs: e.BUS_LINGER_MS,
    maxBatchMessages: e.BUS_MAX_BATCH_MESSAGES,
    maxBufferedMessages: e.BUS_MAX_BUFFERED_MESSAGES,
  };
  const dataDir = e.LIVEPULSE_DATA_DIR;

  return {
    mode: distributed ? 'distributed' : 'embedded',
    http: { port: e.PORT, host: e.HOST, trustedProxies },
    dataDir,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    auth: {
      writeKeys,
      jwtSecret,
      jwksUrl: e.LIVEPULSE_JWKS_URL,
      writeKeyOrigins,
      ivsWebhookSecret,
      developmentCredentials,
      randomSecrets,
      maxTokenLifetimeSeconds: e.LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS,
    },
    ingest: {
      maxEventsPerRequest: e.INGEST_MAX_EVENTS_PER_REQUEST,
      maxBodyBytes: e.INGEST_MAX_BODY_BYTES,
      bodyTimeoutMs: e.INGEST_BODY_TIMEOUT_MS,
      dedupeWindowMs: e.INGEST_DEDUPE_WINDOW_MS,
      maxEventAgeMs: e.INGEST_MAX_EVENT_AGE_MS,
      cmcdMaxReportsPerSession: e.INGEST_CMCD_MAX_REPORTS_PER_SESSION,
      publishDeadlineMs: e.INGEST_PUBLISH_DEADLINE_MS,
      ipHashSecret: e.LIVEPULSE_IP_HASH_SECRET,
    },
    ivs: { region: e.IVS_REGION, endpoint: e.IVS_ENDPOINT },
    clips: {
      ffmpegPath: e.FFMPEG_PATH,
      ffprobePath: e.FFPROBE_PATH,
      concurrency: e.CLIP_WORKER_CONCURRENCY,
      maxAttempts: e.CLIP_MAX_ATTEMPTS,
      leaseMs: e.CLIP_LEASE_MS,
      scanIntervalMs: e.CLIP_SCAN_INTERVAL_MS,
      liveWaitMs: e.CLIP_LIVE_WAIT_MS,
      recordingGraceMs: e.CLIP_RECORDING_GRACE_MS,
      workDirectory: e.CLIP_WORK_DIR,
      vertical: { width: verticalWidth, height: verticalHeight },
      x264Preset: e.CLIP_X264_PRESET,
      loudnessLufs: e.CLIP_LOUDNESS_LUFS,
      putMetadata: e.CLIP_PUT_METADATA,
    },
    highlights: {
      zThreshold: e.HIGHLIGHT_Z_THRESHOLD,
      minMessages: e.HIGHLIGHT_MIN_MESSAGES,
      minUniqueChatters: e.HIGHLIGHT_MIN_CHATTERS,
      cooldownMs: e.HIGHLIGHT_COOLDOWN_MS,
      preRollMs: e.HIGHLIGHT_PRE_ROLL_MS,
      postRollMs: e.HIGHLIGHT_POST_ROLL_MS,
    },
    analytics: {
      windowMs: e.ANALYTICS_WINDOW_MS,
      allowedLatenessMs: e.ANALYTICS_ALLOWED_LATENESS_MS,
      inactiveAfterMs: e.ANALYTICS_VIEW_INACTIVE_MS,
      endAfterSilenceMs: e.ANALYTICS_VIEW_END_SILENCE_MS,
      pausedEndAfterMs: e.ANALYTICS_PAUSED_VIEW_END_MS,
      maxRebufferMs: e.ANALYTICS_MAX_REBUFFER_MS,
      emitIntervalMs: e.ANALYTICS_EMIT_INTERVAL_MS,
      idleAdvanceMs: e.ANALYTICS_IDLE_ADVANCE_MS,
      maxViewsPerPartition: e.ANALYTICS_MAX_VIEWS_PER_PARTITION,
    },
    analyticsWorkerThreads: e.ANALYTICS_WORKER_THREADS === 'auto' ? 'auto' : Number(e.ANALYTICS_WORKER_THREADS),
    bus: e.KAFKA_BROKERS
      ? {
          kind: 'kafka',
          client: e.KAFKA_CLIENT,
          brokers: e.KAFKA_BROKERS,
          clientId: e.KAFKA_CLIENT_ID,
          topicPrefix: e.KAFKA_TOPIC_PREFIX,
          partitions: e.KAFKA_PARTITIONS,
          replicationFactor: e.KAFKA_REPLICATION_FACTOR,
          ssl: e.KAFKA_SSL,
          sasl: e.KAFKA_SASL_MECHANISM
            ? { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! }
            : undefined,
          publish,
          producers: e.KAFKA_PRODUCERS,
          consumerSessionTimeoutMs: e.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
        }
      : {
          kind: 'embedded',
          path: join(dataDir, 'bus', 'log.sqlite'),
          synchronous: e.EMBEDDED_BUS_SYNC,
          groupRetentionMs: e.EMBEDDED_BUS_GROUP_RETENTION_MS,
          partitions: e.EMBEDDED_BUS_PARTITIONS,
          maxRetainedMessages: e.EMBEDDED_BUS_MAX_RETAINED_MESSAGES,
          publish,
        },
    analyticsStore: e.CLICKHOUSE_URL
      ? {
          kind: 'clickhouse',
          url: e.CLICKHOUSE_URL,
          username: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          database: e.CLICKHOUSE_DATABASE,
        }
      : { kind: 'chdb', path: join(dataDir, 'chdb'), database: e.CLICKHOUSE_DATABASE },
    liveState: e.REDIS_URL ? { kind: 'redis', url: e.REDIS_URL } : { kind: 'memory' },
    objectStore: e.S3_BUCKET
      ? {
          kind: 's3',
          bucket: e.S3_BUCKET,
          endpoint: e.S3_ENDPOINT,
          region: e.S3_REGION,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          prefix: e.S3_PREFIX,
        }
      : { kind: 'local', root: join(dataDir, 'objects') },
    ai: e.OPENAI_API_KEY
      ? {
          kind: 'openai',
          apiKey: e.OPENAI_API_KEY,
          baseURL: e.OPENAI_BASE_URL,
          moderationModel: e.OPENAI_MODERATION_MODEL,
          chatModel: e.OPENAI_CHAT_MODEL,
        }
      : { kind: 'off' },
    chat: {
      maxMessageLength: e.CHAT_MAX_MESSAGE_LENGTH,
      flood: {
        messages: e.CHAT_FLOOD_MESSAGES,
        privilegedMessages: e.CHAT_PRIVILEGED_FLOOD_MESSAGES,
        windowMs: e.CHAT_FLOOD_WINDOW_MS,
      },
      hold: { timeoutMs: e.CHAT_HOLD_TIMEOUT_MS, onTimeout: e.CHAT_HOLD_TIMEOUT_ACTION },
      historySize: e.CHAT_HISTORY_SIZE,
      anonymousViewers: e.CHAT_ANONYMOUS_VIEWERS,
      connectionsPerMinute: e.CHAT_CONNECTIONS_PER_MINUTE,
      socketEventsPer10s: e.CHAT_SOCKET_EVENTS_PER_10S,
    },
    moderation: {
      ai: {
        backend: e.MODERATION_AI_BACKEND,
        guardModel: e.MODERATION_AI_GUARD_MODEL ?? e.OPENAI_CHAT_MODEL,
        timeoutMs: e.MODERATION_AI_TIMEOUT_MS,
        maxRetries: e.MODERATION_AI_MAX_RETRIES,
        batchSize: e.MODERATION_AI_BATCH_SIZE,
        concurrency: e.MODERATION_AI_CONCURRENCY,
        budgetPerMinute: e.MODERATION_AI_BUDGET_PER_MINUTE,
        breaker: {
          failureThreshold: e.MODERATION_AI_BREAKER_FAILURES,
          cooldownMs: e.MODERATION_AI_BREAKER_COOLDOWN_MS,
        },
      },
      encoder: { enabled: e.MODERATION_ENCODER, batchSize: e.MODERATION_ENCODER_BATCH_SIZE },
    },
    hostPrompts: {
      windowMs: e.HOST_PROMPTS_WINDOW_MS,
      intervalMs: e.HOST_PROMPTS_INTERVAL_MS,
      minMessages: e.HOST_PROMPTS_MIN_MESSAGES,
      maxSuggestions: e.HOST_PROMPTS_MAX_SUGGESTIONS,
      ai: {
        callsPerStreamPerMinute: e.HOST_PROMPTS_AI_CALLS_PER_STREAM_PER_MINUTE,
        callsPerMinute: e.HOST_PROMPTS_AI_CALLS_PER_MINUTE,
        tokensPerMinute: e.HOST_PROMPTS_AI_TOKENS_PER_MINUTE,
        maxCompletionTokens: e.HOST_PROMPTS_AI_MAX_COMPLETION_TOKENS,
        timeoutMs: e.HOST_PROMPTS_AI_TIMEOUT_MS,
        maxRetries: e.HOST_PROMPTS_AI_MAX_RETRIES,
      },
    },
    warehouse:
      e.SNOWFLAKE_ACCOUNT && e.SNOWFLAKE_USERNAME && e.SNOWFLAKE_PASSWORD
        ? {
            kind: 'snowflake',
            account: e.SNOWFLAKE_ACCOUNT,
            username: e.SNOWFLAKE_USERNAME,
            password: e.SNOWFLAKE_PASSWORD,
            database: e.SNOWFLAKE_DATABASE,
            schema: e.SNOWFLAKE_SCHEMA,
            warehouse: e.SNOWFLAKE_WAREHOUSE,
            accessUrl: e.SNOWFLAKE_ACCESS_URL,
          }
        : { kind: 'off' },
  };
}
