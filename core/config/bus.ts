import { join } from 'node:path';
import { z } from 'zod';
import {
  boolean,
  brokerList,
  configSection,
  intBetween,
  nonNegativeInt,
  optionalString,
  positiveInt,
  whenUnset,
} from './fields.ts';
import { dataDirVariable } from './server.ts';

/** The Kafka client a deployment uses unless KAFKA_CLIENT says otherwise (the benches follow it too). */
export const DEFAULT_KAFKA_CLIENT = 'platformatic';

/** The bus: Kafka when KAFKA_BROKERS is set, else the embedded log in the data directory. */
export const busSection = configSection({
  variables: z.object({
    KAFKA_BROKERS: whenUnset(brokerList.optional().describe('`host:port,host:port`'), '— (embedded log)'),
    KAFKA_CLIENT_ID: z
      .string()
      .trim()
      .default('livepulse')
      .describe('Kafka client id (the @platformatic/kafka client appends its role: `.producer`, `.consumer`, …)'),
    KAFKA_CLIENT: z
      .enum(['kafkajs', 'platformatic'])
      .default(DEFAULT_KAFKA_CLIENT)
      .describe(
        'the Kafka client library: `platformatic` (@platformatic/kafka, maintained, and the faster here: docs/benchmarks.md), or `kafkajs` (compare them with `npm run bench:bus`). Both use the same topics, group ids, offsets and key placement, so a deployment can switch and switch back; members of one group may even mix them ([architecture](architecture.md#the-bus))',
      ),
    KAFKA_TOPIC_PREFIX: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]*$/, 'must contain only letters, digits, . _ -')
      .default('')
      .describe('prepended to every topic and consumer group id, for environments sharing a cluster'),
    KAFKA_PARTITIONS: positiveInt(6).describe('partitions of topics Livepulse creates'),
    KAFKA_REPLICATION_FACTOR: positiveInt(1).describe(
      'replication factor of topics Livepulse creates (use 3 in production)',
    ),
    KAFKA_SSL: boolean(false).describe('TLS to the brokers'),
    KAFKA_SASL_MECHANISM: z
      .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
      .optional()
      .describe('SASL authentication (needs `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`)'),
    KAFKA_SASL_USERNAME: optionalString.describe('SASL user name'),
    KAFKA_SASL_PASSWORD: optionalString.describe('SASL password'),
    BUS_LINGER_MS: nonNegativeInt(5).describe('how long concurrent publishes wait to share a producer batch'),
    BUS_MAX_BATCH_MESSAGES: positiveInt(2000).describe('a batch is sent at once when it reaches this size'),
    BUS_MAX_BUFFERED_MESSAGES: positiveInt(100_000).describe(
      'messages waiting or in flight before publishes are refused (503); one publish larger than this is taken alone when nothing else is in flight',
    ),
    EMBEDDED_BUS_PARTITIONS: positiveInt(4).describe('partitions per topic of the embedded log'),
    EMBEDDED_BUS_MAX_RETAINED_MESSAGES: positiveInt(1_000_000).describe(
      'bound of the embedded log per topic (records kept on disk; see [operations](operations.md#embedded-mode-the-bus-on-local-disk))',
    ),
    EMBEDDED_BUS_SYNC: z
      .enum(['full', 'normal'])
      .default('full')
      .describe(
        'when an embedded publish counts as stored: `full` fsyncs the log before the 202 (survives a power loss, like acks=all); `normal` only writes it (survives the process being killed, not a power loss)',
      ),
    EMBEDDED_BUS_GROUP_RETENTION_MS: positiveInt(3_600_000).describe(
      "how long a consumer group with no member (a service no longer run) keeps holding back its topics' retention; counted from the process's start for groups from before it",
    ),
    KAFKA_PRODUCERS: intBetween(1, 16, 3).describe(
      'idempotent producers publishing side by side (each allows one request in flight); a key always goes through the same one, so per-key order holds',
    ),
    KAFKA_CONSUMER_SESSION_TIMEOUT_MS: intBetween(6_000, 300_000, 30_000).describe(
      'how long Kafka waits for a silent consumer (e.g. one killed with SIGKILL) before reassigning its partitions',
    ),
    LIVEPULSE_DATA_DIR: dataDirVariable,
  }),
  rules: (e) =>
    e.KAFKA_SASL_MECHANISM && !(e.KAFKA_SASL_USERNAME && e.KAFKA_SASL_PASSWORD)
      ? ['KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set']
      : [],
  toConfig: (e) => {
    const publish = {
      lingerMs: e.BUS_LINGER_MS,
      maxBatchMessages: e.BUS_MAX_BATCH_MESSAGES,
      maxBufferedMessages: e.BUS_MAX_BUFFERED_MESSAGES,
    };
    const bus = e.KAFKA_BROKERS
      ? {
          kind: 'kafka' as const,
          /** The client library: kafkajs, or @platformatic/kafka (core/bus/platformatic-kafka-bus.ts). */
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
          /** Idempotent producers publishing side by side; a key always uses the same one. */
          producers: e.KAFKA_PRODUCERS,
          /** How long the group waits for a silent member before reassigning its partitions. */
          consumerSessionTimeoutMs: e.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
        }
      : {
          kind: 'embedded' as const,
          /** The log's SQLite file, in the data directory. */
          path: join(e.LIVEPULSE_DATA_DIR, 'bus', 'log.sqlite'),
          synchronous: e.EMBEDDED_BUS_SYNC,
          /** How long a consumer group without members holds back its topics' retention. */
          groupRetentionMs: e.EMBEDDED_BUS_GROUP_RETENTION_MS,
          partitions: e.EMBEDDED_BUS_PARTITIONS,
          maxRetainedMessages: e.EMBEDDED_BUS_MAX_RETAINED_MESSAGES,
          publish,
        };
    return { bus };
  },
});
