import { describe, expect, it } from 'vitest';
import { ivsRecordingEvent, ivsStreamEvent } from './ivs-fixtures.ts';
import { channelIdFromArn, mapIvsEvent } from './map-ivs-event.ts';
import { secretMatches } from './shared-secret.ts';

describe('mapIvsEvent', () => {
  it.each([
    ['Stream Start', 'stream_start'],
    ['Stream End', 'stream_end'],
    ['Stream Failure', 'stream_failure'],
  ])('maps the stream event %s to %s', (name, kind) => {
    expect(mapIvsEvent(ivsStreamEvent(name))).toEqual({
      kind: 'lifecycle',
      event: {
        schema_v: 1,
        event_id: '01234567-0123-0123-0123-0123456789ab',
        channel_id: 'AbCdEfGh1234',
        // Where the stream registry reads the channel's owner tag.
        channel_arn: 'arn:aws:ivs:us-west-2:123456789012:channel/AbCdEfGh1234',
        stream_id: 'st-1A2b3c4D5e6F678gH90IjkL',
        kind,
        occurred_at: Date.parse('2027-03-01T18:00:05Z'),
      },
    });
  });

  it.each([
    ['Recording Start', 'recording_start'],
    ['Recording End', 'recording_end'],
    ['Recording Start Failure', 'recording_failure'],
    ['Recording End Failure', 'recording_failure'],
  ])('maps the recording status %s to %s with where the recording is', (status, kind) => {
    const mapped = mapIvsEvent(ivsRecordingEvent(status, { reason: status.includes('Failure') ? 'AccessDenied' : '' }));
    expect(mapped).toMatchObject({
      kind: 'lifecycle',
      event: {
        kind,
        recording_bucket: 'ivs-recordings',
        recording_prefix: 'ivs/v1/123456789012/AbCdEfGh1234/2027/3/1/18/0/rec-1',
      },
    });
    if (status.includes('Failure') && mapped.kind === 'lifecycle') expect(mapped.event.reason).toBe('AccessDenied');
  });

  it.each(['Session Created', 'Session Ended', 'Stream Takeover'])(
    'ignores %s, which the lifecycle does not need',
    (name) => {
      expect(mapIvsEvent(ivsStreamEvent(name))).toMatchObject({
        kind: 'ignored',
        reason: expect.stringContaining(name) as unknown,
      });
    },
  );

  it('refuses an event whose resource is not a channel ARN', () => {
    const event = { ...ivsStreamEvent('Stream Start'), resources: ['arn:aws:s3:::bucket'] };
    expect(mapIvsEvent(event)).toEqual({
      kind: 'invalid',
      errors: [{ path: '/resources/0', message: 'is not an IVS channel ARN' }],
    });
  });

  it('refuses what the lifecycle schema refuses (an event time before 2020)', () => {
    expect(mapIvsEvent(ivsStreamEvent('Stream Start', { time: '2010-01-01T00:00:00Z' }))).toMatchObject({
      kind: 'invalid',
    });
  });
});

describe('channelIdFromArn', () => {
  it.each([
    ['arn:aws:ivs:us-west-2:123456789012:channel/AbCdEfGh1234', 'AbCdEfGh1234'],
    ['arn:aws-us-gov:ivs:us-gov-west-1:123456789012:channel/Xy12', 'Xy12'],
    ['arn:aws:ivs:us-west-2:123456789012:stream-key/AbCd', undefined],
    ['channel/AbCd', undefined],
  ])('%s → %s', (arn, id) => {
    expect(channelIdFromArn(arn)).toBe(id);
  });
});

describe('secretMatches', () => {
  it.each([
    ['the secret', 'ivs-secret-0123456789', true],
    ['another secret', 'ivs-secret-0123456788', false],
    ['a prefix', 'ivs-secret', false],
    ['nothing', undefined, false],
    ['an empty header', '', false],
  ])('%s: %s', (_what, presented, expected) => {
    expect(secretMatches(presented, 'ivs-secret-0123456789')).toBe(expected);
  });
});
