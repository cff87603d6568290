import type { IvsEvent } from './ivs-event.ts';

/** EventBridge IVS events shaped like AWS's documented examples. */
export const CHANNEL_ARN = 'arn:aws:ivs:us-west-2:123456789012:channel/AbCdEfGh1234';

export function ivsStreamEvent(
  eventName: string,
  overrides: { id?: string; time?: string; streamId?: string } = {},
): IvsEvent {
  return {
    version: '0',
    id: overrides.id ?? '01234567-0123-0123-0123-0123456789ab',
    'detail-type': 'IVS Stream State Change',
    source: 'aws.ivs',
    account: '123456789012',
    time: overrides.time ?? '2027-03-01T18:00:05Z',
    region: 'us-west-2',
    resources: [CHANNEL_ARN],
    detail: {
      event_name: eventName,
      channel_name: 'Main stage',
      stream_id: overrides.streamId ?? 'st-1A2b3c4D5e6F678gH90IjkL',
    },
  };
}

export function ivsRecordingEvent(status: string, overrides: { id?: string; reason?: string } = {}): IvsEvent {
  return {
    version: '0',
    id: overrides.id ?? '11234567-0123-0123-0123-0123456789ab',
    'detail-type': 'IVS Recording State Change',
    source: 'aws.ivs',
    account: '123456789012',
    time: '2027-03-01T19:00:00Z',
    region: 'us-west-2',
    resources: [CHANNEL_ARN],
    detail: {
      recording_status: status,
      recording_status_reason: overrides.reason ?? '',
      channel_name: 'Main stage',
      stream_id: 'st-1A2b3c4D5e6F678gH90IjkL',
      recording_s3_bucket_name: 'ivs-recordings',
      recording_s3_key_prefix: 'ivs/v1/123456789012/AbCdEfGh1234/2027/3/1/18/0/rec-1',
      recording_duration_ms: 3_595_000,
      recording_session_id: 'rs-1',
    },
  };
}
