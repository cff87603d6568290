/**
 * Amazon IVS auto-record-to-S3 layout (AWS docs "IVS Auto-Record to Amazon S3"):
 *
 *   ivs/v1/<account>/<channel>/<year>/<month>/<day>/<hours>/<minutes>/<recording_id>/
 *     events/recording-started.json | recording-ended.json | recording-failed.json
 *     media/hls/master.m3u8, byte-range-multivariant.m3u8
 *     media/hls/<rendition>/playlist.m3u8, byte-range-variant.m3u8, 0.ts, 1.ts …
 *
 * The date parts are the UTC start time and are not zero-padded (`…/2020/6/23/20/12/…`).
 * Keys here are object-store keys: relative to the bucket root, no leading or trailing `/`.
 */

export interface RecordingLocation {
  accountId: string;
  channelId: string;
  /** UTC start of the recording, to the minute (the precision the layout keeps). */
  startedAt: Date;
  recordingId: string;
}

export type RecordingEventName = 'recording-started' | 'recording-ended' | 'recording-failed';

const ACCOUNT = /^\d{12}$/;
const RESOURCE_ID = /^[A-Za-z0-9]{1,64}$/;
const PREFIX =
  /^ivs\/v1\/(\d{12})\/([A-Za-z0-9]+)\/(\d{4})\/(\d{1,2})\/(\d{1,2})\/(\d{1,2})\/(\d{1,2})\/([A-Za-z0-9]+)$/;
const CHANNEL_ARN = /^arn:(aws[a-z-]*):ivs:([a-z0-9-]+):(\d{12}):channel\/([A-Za-z0-9]+)$/;

export class InvalidRecordingPrefixError extends Error {
  constructor(readonly prefix: string) {
    super(
      `not an IVS recording prefix (ivs/v1/<account>/<channel>/<y>/<m>/<d>/<h>/<min>/<recording_id>): ${JSON.stringify(prefix)}`,
    );
    this.name = 'InvalidRecordingPrefixError';
  }
}

export function recordingPrefix({ accountId, channelId, startedAt, recordingId }: RecordingLocation): string {
  if (!ACCOUNT.test(accountId))
    throw new RangeError(`IVS account id must be 12 digits, got ${JSON.stringify(accountId)}`);
  if (!RESOURCE_ID.test(channelId))
    throw new RangeError(`IVS channel id must be alphanumeric, got ${JSON.stringify(channelId)}`);
  if (!RESOURCE_ID.test(recordingId))
    throw new RangeError(`IVS recording id must be alphanumeric, got ${JSON.stringify(recordingId)}`);
  const parts = [
    startedAt.getUTCFullYear(),
    startedAt.getUTCMonth() + 1,
    startedAt.getUTCDate(),
    startedAt.getUTCHours(),
    startedAt.getUTCMinutes(),
  ];
  return ['ivs', 'v1', accountId, channelId, ...parts.map(String), recordingId].join('/');
}

/** Accepts the prefix as EventBridge sends it (`recording_s3_key_prefix`), with or without a trailing `/`. */
export function parseRecordingPrefix(prefix: string): RecordingLocation {
  const match = PREFIX.exec(prefix.replace(/\/+$/, ''));
  if (!match) throw new InvalidRecordingPrefixError(prefix);
  const [, accountId, channelId, year, month, day, hours, minutes, recordingId] = match;
  const startedAt = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes)));
  return { accountId: accountId!, channelId: channelId!, startedAt, recordingId: recordingId! };
}

export function normaliseRecordingPrefix(prefix: string): string {
  return recordingPrefix(parseRecordingPrefix(prefix));
}

export const recordingKeys = {
  event: (prefix: string, name: RecordingEventName) => `${prefix}/events/${name}.json`,
  masterPlaylist: (prefix: string) => `${prefix}/media/hls/master.m3u8`,
  byteRangeMasterPlaylist: (prefix: string) => `${prefix}/media/hls/byte-range-multivariant.m3u8`,
  renditionDirectory: (prefix: string, rendition: string) => `${prefix}/media/hls/${rendition}`,
  renditionPlaylist: (prefix: string, rendition: string) => `${prefix}/media/hls/${rendition}/playlist.m3u8`,
  byteRangePlaylist: (prefix: string, rendition: string) => `${prefix}/media/hls/${rendition}/byte-range-variant.m3u8`,
  /** A media URI from a rendition playlist, resolved against the playlist's directory. */
  media: (prefix: string, rendition: string, uri: string) => `${prefix}/media/hls/${rendition}/${uri}`,
};

export interface ChannelArnParts {
  partition: string;
  region: string;
  accountId: string;
  channelId: string;
}

export function parseChannelArn(arn: string): ChannelArnParts | null {
  const match = CHANNEL_ARN.exec(arn);
  if (!match) return null;
  return { partition: match[1]!, region: match[2]!, accountId: match[3]!, channelId: match[4]! };
}

export function channelArn({
  partition = 'aws',
  region,
  accountId,
  channelId,
}: Omit<ChannelArnParts, 'partition'> & { partition?: string }): string {
  return `arn:${partition}:ivs:${region}:${accountId}:channel/${channelId}`;
}
