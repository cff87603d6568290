import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Bus, MessageBatch } from './bus.ts';
import { EmbeddedBus } from './embedded-bus.ts';
import { KafkaBus } from './kafka-bus.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';

export function createBus(config: Config['bus'], logger: Logger): Bus {
  const onHandlerError = (error: unknown, batch: MessageBatch, groupId: string) =>
    logger.error(
      {
        err: error,
        groupId,
        topic: batch.topic,
        partition: batch.partition,
        firstOffset: batch.firstOffset,
        lastOffset: batch.lastOffset,
      },
      'batch handler failed; the batch will be redelivered',
    );
  if (config.kind === 'embedded') {
    return new EmbeddedBus({
      path: config.path,
      synchronous: config.synchronous,
      groupRetentionMs: config.groupRetentionMs,
      defaultPartitions: config.partitions,
      maxRetainedMessages: config.maxRetainedMessages,
      publish: config.publish,
      onHandlerError,
    });
  }
  const Adapter = config.client === 'platformatic' ? PlatformaticKafkaBus : KafkaBus;
  return new Adapter({
    brokers: config.brokers,
    clientId: config.clientId,
    topicPrefix: config.topicPrefix,
    defaultPartitions: config.partitions,
    replicationFactor: config.replicationFactor,
    ssl: config.ssl,
    sasl: config.sasl,
    publish: config.publish,
    producers: config.producers,
    consumerSessionTimeoutMs: config.consumerSessionTimeoutMs,
    logger: logger.child({ component: 'kafka' }),
    onHandlerError,
  });
}
