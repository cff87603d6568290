import { createHash } from 'node:crypto';
import { channelArn } from './recording-layout.ts';

/**
 * Amazon EventBridge events as IVS sends them ("IVS Stream State Change", "IVS Recording State
 * Change"; field names from the EventBridge IVS event reference), for the synthetic stream to
 * post to the collector's `/v1/ivs/events` exactly as an API destination would.
 */
export interface IvsBroadcast {
  region: string;
  accountId: string;
  channelId: string;
  channelName: string;
  streamId: string;
  /** The recording's object-store prefix (`ivs/v1/…/<recording_id>`). */
  recordingPrefix: string;
  recordingSessionId: string;
  bucket: string;
}

export type IvsBroadcastTransition = 'Stream Start' | 'Stream End' | 'Recording Start' | 'Recording End';

export interface EventBridgeIvsEvent {
  version: '0';
  id: string;
  'detail-type': 'IVS Stream State Change' | 'IVS Recording State Change';
  source: 'aws.ivs';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** EventBridge ids are UUIDs; a hash of the broadcast and transition keeps a re-post a duplicate. */
function deterministicEventId(broadcast: IvsBroadcast, transition: string): string {
  const hex = createHash('sha256')
    .update(`${broadcast.channelId}\u0000${broadcast.streamId}\u0000${transition}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function ivsEventBridgeEvent(
  broadcast: IvsBroadcast,
  transition: IvsBroadcastTransition,
  at: Date,
  recordingDurationMs = 0,
): EventBridgeIvsEvent {
  const base = {
    version: '0' as const,
    id: deterministicEventId(broadcast, transition),
    source: 'aws.ivs' as const,
    account: broadcast.accountId,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: broadcast.region,
    resources: [
      channelArn({ region: broadcast.region, accountId: broadcast.accountId, channelId: broadcast.channelId }),
    ],
  };
  if (transition === 'Stream Start' || transition === 'Stream End') {
    return {
      ...base,
      'detail-type': 'IVS Stream State Change',
      detail: { event_name: transition, channel_name: broadcast.channelName, stream_id: broadcast.streamId },
    };
  }
  return {
    ...base,
    'detail-type': 'IVS Recording State Change',
    detail: {
      recording_status: transition,
      recording_status_reason: '',
      recording_s3_bucket_name: broadcast.bucket,
      recording_s3_key_prefix: broadcast.recordingPrefix,
      recording_duration_ms: recordingDurationMs,
      channel_name: broadcast.channelName,
      stream_id: broadcast.streamId,
      recording_session_id: broadcast.recordingSessionId,
      recording_session_stream_ids: [broadcast.streamId],
    },
  };
}
