import { randomUUID } from 'node:crypto';
import { testServices } from '../../test/services.ts';
import { KafkaBus } from './kafka-bus.ts';
import { describeQuarantine } from './quarantine.contract.ts';

describeQuarantine(
  'kafka',
  () =>
    new KafkaBus({
      brokers: [testServices().kafkaBrokers],
      clientId: 'quarantine-contract',
      // A prefix per bus: each test gets a dead-letters topic of its own.
      topicPrefix: `quarantine-${randomUUID().slice(0, 8)}.`,
      defaultPartitions: 1,
      replicationFactor: 1,
      publish: { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
    }),
);
