import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateChannelCommand,
  CreateRecordingConfigurationCommand,
  GetChannelCommand,
  GetRecordingConfigurationCommand,
  GetStreamSessionCommand,
  IvsClient,
  PutMetadataCommand,
  RecordingConfigurationState,
  paginateListStreamSessions,
  type Channel,
  type ChannelLatencyMode,
  type ChannelType,
  type RecordingConfiguration,
  type StreamSession,
  type StreamSessionSummary,
} from '@aws-sdk/client-ivs';

/**
 * The IVS control plane through `@aws-sdk/client-ivs`: channels with auto-record to S3, stream
 * sessions, and timed metadata. Errors other than the ones named here are the SDK's own typed
 * exceptions (ChannelNotBroadcasting, ThrottlingException, ValidationException, …).
 */
export interface IvsControlPlaneOptions {
  region: string;
  /** An IVS-compatible endpoint instead of AWS (the test double). */
  endpoint?: string;
  /** Without them, the default AWS chain (environment, shared config, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** PutMetadata limits (IVS API reference): payload size in UTF-8 bytes, and calls per channel per second. */
export const PUT_METADATA_MAX_BYTES = 1024;
export const PUT_METADATA_MAX_PER_SECOND_PER_CHANNEL = 5;
export const PUT_METADATA_MAX_PER_SECOND_PER_ACCOUNT = 155;

export class TimedMetadataTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`IVS timed metadata is ${bytes} bytes; PutMetadata accepts at most ${PUT_METADATA_MAX_BYTES}`);
    this.name = 'TimedMetadataTooLargeError';
  }
}

export class RecordingConfigurationNotActiveError extends Error {
  constructor(
    readonly arn: string,
    readonly state: string,
  ) {
    super(`recording configuration ${arn} is ${state}, not ACTIVE`);
    this.name = 'RecordingConfigurationNotActiveError';
  }
}

export interface RecordingConfigurationRequest {
  name: string;
  bucketName: string;
  /** Merge a broadcast that reconnects within this many seconds into the same recording (0–300). */
  reconnectWindowSeconds?: number;
  /** Seconds between recorded thumbnails; IVS's default is 60. */
  thumbnailIntervalSeconds?: number;
  tags?: Record<string, string>;
}

export interface ChannelRequest {
  name: string;
  recordingConfigurationArn?: string;
  type?: ChannelType;
  latencyMode?: ChannelLatencyMode;
  tags?: Record<string, string>;
}

/**
 * The channel tag naming the creator who owns the channel's streams. The stream registry reads it
 * when the channel's Stream Start arrives (core/streams/ivs-stream-owners.ts); whoever may tag
 * channels in the AWS account decides ownership, never a player.
 */
export const CHANNEL_CREATOR_TAG = 'livepulse:creator_id';

export interface CreatedChannel {
  channel: Channel;
  streamKey: string;
}

export class IvsControlPlane {
  readonly client: IvsClient;

  constructor({ region, endpoint, credentials }: IvsControlPlaneOptions) {
    this.client = new IvsClient({
      region,
      endpoint,
      credentials,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      // The SDK retries throttling and 5xx itself; callers pace PutMetadata so they never rely on it.
      maxAttempts: 3,
    });
  }

  /** Creates the configuration and waits until IVS reports it ACTIVE (channels cannot use it before). */
  async createRecordingConfiguration(
    request: RecordingConfigurationRequest,
    { timeoutMs = 60_000, pollMs = 1_000 }: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<RecordingConfiguration> {
    const created = await this.client.send(
      new CreateRecordingConfigurationCommand({
        name: request.name,
        destinationConfiguration: { s3: { bucketName: request.bucketName } },
        recordingReconnectWindowSeconds: request.reconnectWindowSeconds ?? 0,
        thumbnailConfiguration: {
          recordingMode: 'INTERVAL',
          targetIntervalSeconds: request.thumbnailIntervalSeconds ?? 60,
          storage: ['SEQUENTIAL', 'LATEST'],
        },
        renditionConfiguration: { renditionSelection: 'ALL' },
        tags: request.tags,
      }),
    );
    let configuration = created.recordingConfiguration!;
    const deadline = Date.now() + timeoutMs;
    while (configuration.state === RecordingConfigurationState.Creating) {
      if (Date.now() > deadline)
        throw new RecordingConfigurationNotActiveError(configuration.arn!, configuration.state);
      await sleep(pollMs);
      configuration = (await this.client.send(new GetRecordingConfigurationCommand({ arn: configuration.arn })))
        .recordingConfiguration!;
    }
    if (configuration.state !== RecordingConfigurationState.Active) {
      throw new RecordingConfigurationNotActiveError(configuration.arn!, configuration.state ?? 'UNKNOWN');
    }
    return configuration;
  }

  async createChannel(request: ChannelRequest): Promise<CreatedChannel> {
    const { channel, streamKey } = await this.client.send(
      new CreateChannelCommand({
        name: request.name,
        recordingConfigurationArn: request.recordingConfigurationArn,
        type: request.type ?? 'STANDARD',
        latencyMode: request.latencyMode ?? 'LOW',
        tags: request.tags,
      }),
    );
    return { channel: channel!, streamKey: streamKey!.value! };
  }

  /** The creator a channel's {@link CHANNEL_CREATOR_TAG} tag names, or null when it has none. */
  async channelCreator(channelArn: string): Promise<string | null> {
    const { channel } = await this.client.send(new GetChannelCommand({ arn: channelArn }));
    const creator = channel?.tags?.[CHANNEL_CREATOR_TAG]?.trim();
    return creator ? creator : null;
  }

  /** Every stream session of a channel, newest first, across pages. */
  async *listStreamSessions(channelArn: string, pageSize = 100): AsyncIterable<StreamSessionSummary> {
    for await (const page of paginateListStreamSessions({ client: this.client, pageSize }, { channelArn })) {
      yield* page.streamSessions ?? [];
    }
  }

  /** One session; without a stream id, the channel's latest. */
  async getStreamSession(channelArn: string, streamId?: string): Promise<StreamSession> {
    const { streamSession } = await this.client.send(new GetStreamSessionCommand({ channelArn, streamId }));
    return streamSession!;
  }

  /** Inserts timed metadata into the live stream; the caller paces calls (see TimedMetadataPublisher). */
  async putMetadata(channelArn: string, metadata: string): Promise<void> {
    const bytes = Buffer.byteLength(metadata, 'utf8');
    if (bytes > PUT_METADATA_MAX_BYTES) throw new TimedMetadataTooLargeError(bytes);
    await this.client.send(new PutMetadataCommand({ channelArn, metadata }));
  }

  close(): void {
    this.client.destroy();
  }
}
