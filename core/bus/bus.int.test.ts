import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { Metrics } from '../metrics.ts';
import { describeBusContract, type BusFactoryOptions } from './bus.contract.ts';
import { withConsumerLagMetric } from './consumer-lag.ts';
import { EmbeddedBus } from './embedded-bus.ts';
import { KafkaBus } from './kafka-bus.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';

const tuning = { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 };

/** Each bus on a log file of its own, or on the previous one's when the test asks for the same log. */
function embeddedLogPaths(): (sameLog: boolean | undefined) => string {
  const dir = mkdtempSync(join(tmpdir(), 'livepulse-bus-contract-'));
  let count = 0;
  return (sameLog) => join(dir, `log-${sameLog ? count : ++count}.sqlite`);
}
const embeddedPath = embeddedLogPaths();
const embedded = ({ publish, sameLog }: BusFactoryOptions) =>
  new EmbeddedBus({
    path: embeddedPath(sameLog),
    defaultPartitions: 4,
    maxRetainedMessages: 100_000,
    publish: { ...tuning, ...publish },
    retryBackoffMs: 20,
  });

describeBusContract('embedded', embedded);

// The platform hands services the bus wrapped for its lag metric: the wrapper must keep the contract.
describeBusContract('embedded with the consumer lag metric', (options) =>
  withConsumerLagMetric(embedded(options), new Metrics()),
);

// Each client, with one producer and several side by side: per-key order and the buffer bound must hold across them.
for (const { name, producers, Adapter } of [
  { name: 'kafka', producers: 1, Adapter: KafkaBus },
  { name: 'kafka with three producers', producers: 3, Adapter: KafkaBus },
  { name: 'kafka on @platformatic/kafka', producers: 1, Adapter: PlatformaticKafkaBus },
  { name: 'kafka on @platformatic/kafka with three producers', producers: 3, Adapter: PlatformaticKafkaBus },
]) {
  describeBusContract(
    name,
    ({ publish }) =>
      new Adapter({
        brokers: [testServices().kafkaBrokers],
        clientId: `bus-contract-${producers}`,
        topicPrefix: `test-${producers}.`,
        defaultPartitions: 4,
        replicationFactor: 1,
        publish: { ...tuning, ...publish },
        producers,
      }),
  );
}

// Kafka compacts lazily, so the contract cannot see it; the topic's configuration says it will.
describe('kafka bus: compacted topics', () => {
  it('are created with cleanup.policy=compact, room for one large checkpoint, and segments that roll', async () => {
    const bus = new KafkaBus({
      brokers: [testServices().kafkaBrokers],
      clientId: 'bus-compacted',
      topicPrefix: 'test-compacted.',
      defaultPartitions: 2,
      replicationFactor: 1,
      publish: tuning,
    });
    const admin = new Kafka({
      brokers: [testServices().kafkaBrokers],
      clientId: 'bus-compacted-admin',
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      const topic = `changelog.${randomUUID().slice(0, 8)}`;
      await bus.ensureTopics([{ name: topic, partitions: 2, compacted: true }]);
      await admin.connect();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: `test-compacted.${topic}`,
            configNames: ['cleanup.policy', 'max.message.bytes', 'segment.ms'],
          },
        ],
      });
      const configs = Object.fromEntries(
        resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]),
      );
      expect(configs).toEqual({
        'cleanup.policy': 'compact',
        'max.message.bytes': String(64 * 1024 * 1024),
        'segment.ms': String(10 * 60 * 1000),
      });
    } finally {
      await admin.disconnect();
      await bus.close();
    }
  });
});
