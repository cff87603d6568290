import type { Bus, MessageBatch, Subscription } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { Id } from '../schemas/common.ts';
import { createValidator, parseJsonPayload } from '../schemas/validate.ts';
import { streamLifecycleValidator } from '../schemas/stream-lifecycle.ts';
import { TOPICS } from '../topics.ts';
import type { StreamRegistry } from './stream-registry.ts';

/**
 * IVS streams get their owner from the control plane: when a channel's Stream Start arrives on
 * `stream.lifecycle` (an EventBridge event the collector took behind its webhook secret), the
 * channel's `livepulse:creator_id` tag (core/ivs/ivs-control-plane.ts) names the creator, and the
 * registry records the stream as that creator's. A channel without the tag, or one the control
 * plane cannot describe, leaves the stream unregistered: shown to admins only, which fails safe.
 */
export const IVS_STREAM_OWNERS_GROUP = 'stream-registry';

/** A tag value is free text in IVS; as a creator id it must be one (core/schemas/common.ts). */
const creatorIdValidator = createValidator(Id('Creator id'));

export interface IvsStreamStart {
  streamId: string;
  channelArn: string;
}

/** The Stream Starts of a batch that name their channel; anything else on the topic is other consumers' business. */
export function ivsStreamStarts(batch: Pick<MessageBatch, 'messages'>): IvsStreamStart[] {
  const starts: IvsStreamStart[] = [];
  for (const message of batch.messages) {
    const event = parseJsonPayload(message.value);
    // Unreadable events are dead-lettered by the recording index, which reads the same topic.
    if (!streamLifecycleValidator.check(event) || event.kind !== 'stream_start' || !event.channel_arn) continue;
    starts.push({ streamId: event.stream_id, channelArn: event.channel_arn });
  }
  return starts;
}

export interface ChannelCreators {
  /** The creator the channel's tag names, or null when untagged. */
  channelCreator(channelArn: string): Promise<string | null>;
}

export interface IvsStreamOwnersPorts {
  bus: Bus;
  registry: StreamRegistry;
  channels: ChannelCreators;
  metrics: Metrics;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Resolves while the registry's store answers: a failed write then is the store's, and the batch waits (core/bus/bus.ts). */
  dependencyCheck: () => Promise<void>;
}

export function subscribeIvsStreamOwners({
  bus,
  registry,
  channels,
  metrics,
  logger,
  dependencyCheck,
}: IvsStreamOwnersPorts): Promise<Subscription> {
  const outcomes = metrics.counter(
    'stream_owner_ivs_lookups_total',
    'IVS Stream Starts looked up for their channel owner, by outcome (registered, untagged, invalid_tag, lookup_failed)',
    ['outcome'],
  );
  return bus.subscribe({
    groupId: IVS_STREAM_OWNERS_GROUP,
    topics: [TOPICS.streamLifecycle],
    dependencyCheck,
    handleBatch: async (batch) => {
      for (const { streamId, channelArn } of ivsStreamStarts(batch)) {
        let creatorId: string | null;
        try {
          creatorId = await channels.channelCreator(channelArn);
        } catch (error) {
          // The SDK has retried already; an unknown channel or missing credentials will not heal by waiting.
          outcomes.inc({ outcome: 'lookup_failed' });
          logger.warn(
            { err: error, streamId, channelArn },
            'could not read the IVS channel owner tag; the stream stays unregistered (admins only)',
          );
          continue;
        }
        if (creatorId === null) {
          outcomes.inc({ outcome: 'untagged' });
          logger.warn(
            { streamId, channelArn },
            'IVS channel has no livepulse:creator_id tag; the stream stays unregistered (admins only)',
          );
          continue;
        }
        const tag = creatorId;
        if (!creatorIdValidator.check(creatorId)) {
          outcomes.inc({ outcome: 'invalid_tag' });
          logger.warn(
            { streamId, channelArn, tag: tag.slice(0, 256) },
            'IVS channel livepulse:creator_id tag is not a creator id (1–128 of A-Z a-z 0-9 ._:@/+=-); the stream stays unregistered (admins only)',
          );
          continue;
        }
        // A failed registry write throws: the batch is delivered again.
        const outcome = await registry.register({ source: 'ivs', streamId, creatorId, channelArn });
        outcomes.inc({ outcome: 'registered' });
        if (outcome.created)
          logger.info(
            { streamId, channelArn, creatorId, reassigned: outcome.reassigned },
            'IVS stream registered to its channel owner',
          );
      }
    },
  });
}
