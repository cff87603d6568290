import { testServices } from '../../test/services.ts';
import { Metrics } from '../metrics.ts';
import { describeBusContract } from './bus.contract.ts';
import { withConsumerLagMetric } from './consumer-lag.ts';
import { EmbeddedBus } from './embedded-bus.ts';
import { KafkaBus } from './kafka-bus.ts';

const tuning = { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 };

describeBusContract(
  'embedded',
  (publish) => new EmbeddedBus({ defaultPartitions: 4, maxRetainedMessages: 100_000, publish: { ...tuning, ...publish }, retryBackoffMs: 20 }),
);

// The platform hands services the bus wrapped for its lag metric: the wrapper must keep the contract.
describeBusContract('embedded with the consumer lag metric', (publish) =>
  withConsumerLagMetric(
    new EmbeddedBus({ defaultPartitions: 4, maxRetainedMessages: 100_000, publish: { ...tuning, ...publish }, retryBackoffMs: 20 }),
    new Metrics(),
  ),
);

// One producer, and several side by side: per-key order and the buffer bound must hold across them.
for (const { name, producers } of [
  { name: 'kafka', producers: 1 },
  { name: 'kafka with three producers', producers: 3 },
]) {
  describeBusContract(
    name,
    (publish) =>
      new KafkaBus({
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
