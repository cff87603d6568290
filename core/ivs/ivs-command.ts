// `livepulse ivs …`: the IVS control plane from the command line. Credentials come from the
// AWS chain; `IVS_REGION` and `IVS_ENDPOINT` from the environment like everything else.
import type { ChannelLatencyMode, ChannelType } from '@aws-sdk/client-ivs';
import { createAnalyticsStore } from '../analytics-store/analytics-store.ts';
import { CommandUsageError } from '../command-usage-error.ts';
import { loadConfig } from '../config.ts';
import { CHANNEL_CREATOR_TAG, IvsControlPlane } from './ivs-control-plane.ts';
import { ClickHouseRecordingLocator } from './recording-index.ts';

/** `livepulse ivs create-channel`'s options as the command line gives them (app/cli/program.ts). */
export interface CreateChannelOptions {
  creator?: string;
  bucket?: string;
  /** The command line offers only IVS's values. */
  type: ChannelType;
  latency: ChannelLatencyMode;
  /** Whole seconds, 0–300, as typed. */
  reconnectWindow: string;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `livepulse ivs create-channel <name>`: a channel that auto-records to S3. */
export async function runCreateChannel(name: string, values: CreateChannelOptions): Promise<number> {
  const config = loadConfig();
  const bucket = values.bucket ?? (config.objectStore.kind === 's3' ? config.objectStore.bucket : undefined);
  if (!bucket) throw new CommandUsageError('--bucket is required when S3_BUCKET is not set');
  if (values.creator !== undefined && !/^[A-Za-z0-9._:@/+=-]{1,128}$/.test(values.creator))
    throw new CommandUsageError('--creator must be 1–128 characters of A-Z a-z 0-9 ._:@/+=-');
  const reconnectWindowSeconds = Number(values.reconnectWindow);
  if (!Number.isInteger(reconnectWindowSeconds) || reconnectWindowSeconds < 0 || reconnectWindowSeconds > 300)
    throw new CommandUsageError('--reconnect-window must be 0–300 seconds');
  const ivs = new IvsControlPlane({ region: config.ivs.region, endpoint: config.ivs.endpoint });
  try {
    const recording = await ivs.createRecordingConfiguration({
      name: `${name}-recording`,
      bucketName: bucket,
      reconnectWindowSeconds,
      tags: { 'livepulse:channel': name },
    });
    const { channel, streamKey } = await ivs.createChannel({
      name,
      recordingConfigurationArn: recording.arn,
      type: values.type,
      latencyMode: values.latency,
      tags: { 'livepulse:channel': name, ...(values.creator ? { [CHANNEL_CREATOR_TAG]: values.creator } : {}) },
    });
    print({
      channelArn: channel.arn,
      ingestEndpoint: channel.ingestEndpoint ? `rtmps://${channel.ingestEndpoint}:443/app/` : undefined,
      streamKey,
      playbackUrl: channel.playbackUrl,
      recordingConfigurationArn: recording.arn,
      recordingBucket: bucket,
    });
    return 0;
  } finally {
    ivs.close();
  }
}

/** `livepulse ivs sessions <channel-arn>`: the channel's stream sessions, newest first. */
export async function runSessions(channelArn: string): Promise<number> {
  const config = loadConfig();
  const ivs = new IvsControlPlane({ region: config.ivs.region, endpoint: config.ivs.endpoint });
  try {
    const sessions = [];
    for await (const session of ivs.listStreamSessions(channelArn)) sessions.push(session);
    print(sessions);
    return 0;
  } finally {
    ivs.close();
  }
}

/** `livepulse ivs recordings <stream-id>`: where the stream's recordings are (from stream.lifecycle events). */
export async function runRecordings(streamId: string): Promise<number> {
  const store = await createAnalyticsStore(loadConfig().analyticsStore);
  try {
    print(await new ClickHouseRecordingLocator(store).recordingsOf(streamId));
  } finally {
    await store.close();
  }
  return 0;
}
