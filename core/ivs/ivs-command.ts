import { parseArgs } from 'node:util';
import type { ChannelLatencyMode, ChannelType } from '@aws-sdk/client-ivs';
import { createAnalyticsStore } from '../analytics-store/analytics-store.ts';
import { loadConfig } from '../config.ts';
import { CHANNEL_CREATOR_TAG, IvsControlPlane } from './ivs-control-plane.ts';
import { ClickHouseRecordingLocator } from './recording-index.ts';

/**
 * `livepulse ivs …`: the IVS control plane from the command line. Credentials come from the
 * AWS chain; `IVS_REGION` and `IVS_ENDPOINT` from the environment like everything else.
 */
export const IVS_USAGE = `livepulse ivs create-channel <name> [--creator <creator-id>] [--bucket <s3-bucket>] [--type STANDARD|BASIC|ADVANCED_SD|ADVANCED_HD]
                   [--latency LOW|NORMAL] [--reconnect-window <seconds>]
                                      a channel that auto-records to S3 (bucket: S3_BUCKET by default);
                                      --creator tags it ${CHANNEL_CREATOR_TAG}, which makes its streams that creator's
  livepulse ivs sessions <channel-arn> the channel's stream sessions, newest first
  livepulse ivs recordings <stream-id> where the stream's recordings are (from stream.lifecycle events)`;

const CHANNEL_TYPES = ['STANDARD', 'BASIC', 'ADVANCED_SD', 'ADVANCED_HD'];
const LATENCY_MODES = ['LOW', 'NORMAL'];

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function fail(message: string): number {
  process.stderr.write(`livepulse ivs: ${message}\n\n${IVS_USAGE}\n`);
  return 2;
}

export async function runIvsCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bucket: { type: 'string' },
      creator: { type: 'string' },
      type: { type: 'string', default: 'STANDARD' },
      latency: { type: 'string', default: 'LOW' },
      'reconnect-window': { type: 'string', default: '0' },
    },
  });
  const [subcommand, argument] = positionals;
  const config = loadConfig();

  if (subcommand === 'recordings') {
    if (!argument) return fail('recordings needs a stream id');
    const store = await createAnalyticsStore(config.analyticsStore);
    try {
      print(await new ClickHouseRecordingLocator(store).recordingsOf(argument));
    } finally {
      await store.close();
    }
    return 0;
  }

  const ivs = new IvsControlPlane({ region: config.ivs.region, endpoint: config.ivs.endpoint });
  try {
    switch (subcommand) {
      case 'create-channel': {
        if (!argument) return fail('create-channel needs a name');
        const bucket = values.bucket ?? (config.objectStore.kind === 's3' ? config.objectStore.bucket : undefined);
        if (!bucket) return fail('--bucket is required when S3_BUCKET is not set');
        if (!CHANNEL_TYPES.includes(values.type!)) return fail(`--type must be one of ${CHANNEL_TYPES.join(', ')}`);
        if (!LATENCY_MODES.includes(values.latency!)) return fail(`--latency must be one of ${LATENCY_MODES.join(', ')}`);
        if (values.creator !== undefined && !/^[A-Za-z0-9._:@/+=-]{1,128}$/.test(values.creator)) return fail('--creator must be 1–128 characters of A-Z a-z 0-9 ._:@/+=-');
        const reconnectWindowSeconds = Number(values['reconnect-window']);
        if (!Number.isInteger(reconnectWindowSeconds) || reconnectWindowSeconds < 0 || reconnectWindowSeconds > 300) return fail('--reconnect-window must be 0–300 seconds');
        const recording = await ivs.createRecordingConfiguration({ name: `${argument}-recording`, bucketName: bucket, reconnectWindowSeconds, tags: { 'livepulse:channel': argument } });
        const { channel, streamKey } = await ivs.createChannel({
          name: argument,
          recordingConfigurationArn: recording.arn,
          type: values.type as ChannelType,
          latencyMode: values.latency as ChannelLatencyMode,
          tags: { 'livepulse:channel': argument, ...(values.creator ? { [CHANNEL_CREATOR_TAG]: values.creator } : {}) },
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
      }
      case 'sessions': {
        if (!argument) return fail('sessions needs a channel ARN');
        const sessions = [];
        for await (const session of ivs.listStreamSessions(argument)) sessions.push(session);
        print(sessions);
        return 0;
      }
      default:
        return fail(subcommand ? `unknown subcommand "${subcommand}"` : 'a subcommand is needed');
    }
  } finally {
    ivs.close();
  }
}
