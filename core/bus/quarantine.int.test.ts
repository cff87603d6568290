import { randomUUID } from 'node:crypto';
import { testServices } from '../../test/services.ts';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';
import { describeQuarantine } from './quarantine.contract.ts';

const options = (): KafkaBusOptions => ({
  brokers: [testServices().kafkaBrokers],
  clientId: 'quarantine-contract',
  // A prefix per bus: each test gets a dead-letters topic of its own.
  topicPrefix: `quarantine-${randomUUID().slice(0, 8)}.`,
  defaultPartitions: 1,
  replicationFactor: 1,
  publish: { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
});

describeQuarantine('kafka', () => new KafkaBus(options()));
describeQuarantine('kafka on @platformatic/kafka', () => new PlatformaticKafkaBus(options()));
