import { describe, expect, it } from 'vitest';
import {
  channelArn,
  InvalidRecordingPrefixError,
  normaliseRecordingPrefix,
  parseChannelArn,
  parseRecordingPrefix,
  recordingKeys,
  recordingPrefix,
} from './recording-layout.ts';

describe('recordingPrefix', () => {
  it('builds the IVS layout from the UTC start, without zero padding', () => {
    const prefix = recordingPrefix({
      accountId: '123456789012',
      channelId: 'AsXego4U6tnj',
      startedAt: new Date('2020-06-23T20:12:45Z'),
      recordingId: 'j8Z9O91ndcVs',
    });
    expect(prefix).toBe('ivs/v1/123456789012/AsXego4U6tnj/2020/6/23/20/12/j8Z9O91ndcVs');
  });

  it('uses UTC, not the local time zone, for the date parts', () => {
    const prefix = recordingPrefix({
      accountId: '123456789012',
      channelId: 'c1',
      startedAt: new Date('2023-02-09T23:59:00-05:00'),
      recordingId: 'r1',
    });
    expect(prefix).toBe('ivs/v1/123456789012/c1/2023/2/10/4/59/r1');
  });

  it.each([
    [{ accountId: '1234', channelId: 'c', recordingId: 'r' }, /account id/],
    [{ accountId: '123456789012', channelId: '../c', recordingId: 'r' }, /channel id/],
    [{ accountId: '123456789012', channelId: 'c', recordingId: 'r/1' }, /recording id/],
  ])('refuses parts that would not be an IVS key: %o', (parts, message) => {
    expect(() => recordingPrefix({ ...parts, startedAt: new Date() })).toThrow(message);
  });
});

describe('parseRecordingPrefix', () => {
  it('reads what EventBridge sends, with or without a trailing slash', () => {
    for (const prefix of [
      'ivs/v1/098435415742/2rrcA103rn67/2023/2/9/22/55/Pd8MyZnzUAFl',
      'ivs/v1/098435415742/2rrcA103rn67/2023/2/9/22/55/Pd8MyZnzUAFl/',
    ]) {
      expect(parseRecordingPrefix(prefix)).toEqual({
        accountId: '098435415742',
        channelId: '2rrcA103rn67',
        startedAt: new Date('2023-02-09T22:55:00Z'),
        recordingId: 'Pd8MyZnzUAFl',
      });
    }
    expect(normaliseRecordingPrefix('ivs/v1/098435415742/2rrcA103rn67/2023/02/09/22/55/Pd8MyZnzUAFl/')).toBe(
      'ivs/v1/098435415742/2rrcA103rn67/2023/2/9/22/55/Pd8MyZnzUAFl',
    );
  });

  it.each([
    'ivs/v1/123/c/2020/6/23/20/12/r',
    'ivs/v2/123456789012/c/2020/6/23/20/12/r',
    'clips/x',
    'ivs/v1/123456789012/c/2020/6/23/20/r',
  ])('rejects %s', (prefix) => {
    expect(() => parseRecordingPrefix(prefix)).toThrow(InvalidRecordingPrefixError);
  });
});

describe('recordingKeys', () => {
  const prefix = 'ivs/v1/123456789012/c1/2024/1/2/3/4/r1';
  it('names the files IVS writes', () => {
    expect(recordingKeys.event(prefix, 'recording-ended')).toBe(`${prefix}/events/recording-ended.json`);
    expect(recordingKeys.masterPlaylist(prefix)).toBe(`${prefix}/media/hls/master.m3u8`);
    expect(recordingKeys.renditionPlaylist(prefix, '720p30')).toBe(`${prefix}/media/hls/720p30/playlist.m3u8`);
    expect(recordingKeys.byteRangePlaylist(prefix, '720p30')).toBe(
      `${prefix}/media/hls/720p30/byte-range-variant.m3u8`,
    );
    expect(recordingKeys.media(prefix, '720p30', '12.ts')).toBe(`${prefix}/media/hls/720p30/12.ts`);
  });
});

describe('channel ARNs', () => {
  it('round-trips', () => {
    const arn = channelArn({ region: 'us-west-2', accountId: '123456789012', channelId: 'AbCdEf' });
    expect(arn).toBe('arn:aws:ivs:us-west-2:123456789012:channel/AbCdEf');
    expect(parseChannelArn(arn)).toEqual({
      partition: 'aws',
      region: 'us-west-2',
      accountId: '123456789012',
      channelId: 'AbCdEf',
    });
    expect(parseChannelArn('arn:aws:ivs:us-west-2:123456789012:stream-key/x')).toBeNull();
  });
});
