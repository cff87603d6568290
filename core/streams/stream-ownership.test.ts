import { describe, expect, it } from 'vitest';
import type { ApiIdentity } from '../http/api-auth.ts';
import { decideRegistration, decideStreamAccess, type OwnershipClaim, type StreamOwner } from './stream-ownership.ts';

const admin: ApiIdentity = { userId: 'root', role: 'admin' };
const analyst: ApiIdentity = { userId: 'ana', role: 'analyst' };
const victim: ApiIdentity = { userId: 'v', role: 'creator', creatorId: 'victim' };
const attacker: ApiIdentity = { userId: 'x', role: 'creator', creatorId: 'attacker' };

const owned = (creator_id: string, source: StreamOwner['source'] = 'api', channel_arn = ''): StreamOwner => ({
  stream_id: 's1',
  creator_id,
  source,
  channel_arn,
  registered_by: 'someone',
  registered_at: 1_800_000_000_000,
});

describe('decideStreamAccess', () => {
  it.each([
    ['an admin, a registered stream', admin, owned('victim'), 'allowed'],
    ['an admin, an unregistered stream', admin, null, 'allowed'],
    ['an analyst, a registered stream', analyst, owned('victim'), 'allowed'],
    ['an analyst, an unregistered stream', analyst, null, '403 unregistered_stream'],
    ['the owner', victim, owned('victim'), 'allowed'],
    ["another creator (whatever its player events' creator_id said)", attacker, owned('victim'), '403 forbidden'],
    ['a creator, an unregistered stream', victim, null, '404 not_found'],
  ] as const)('%s: %s', (_what, identity, owner, expected) => {
    const access = decideStreamAccess(identity, 's1', owner);
    expect(access.kind === 'allowed' ? 'allowed' : `${access.statusCode} ${access.code}`).toBe(expected);
  });
});

describe('decideRegistration', () => {
  const api = (identity: ApiIdentity, creatorId: string, reassign = false, streamId = 's1'): OwnershipClaim => ({
    source: 'api',
    streamId,
    creatorId,
    identity,
    reassign,
  });
  const ivs = (creatorId: string, channelArn = 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1'): OwnershipClaim => ({
    source: 'ivs',
    streamId: 'st-Abc1',
    creatorId,
    channelArn,
  });
  const outcome = (decision: ReturnType<typeof decideRegistration>) =>
    decision.kind === 'refused'
      ? `${decision.statusCode} ${decision.code}`
      : decision.kind === 'write'
        ? `write ${decision.owner.creator_id}${decision.reassigned ? ' (reassigned)' : ''}`
        : 'unchanged';

  it.each([
    ['a creator registers a new stream for itself', null, api(victim, 'victim'), 'write victim'],
    ['an admin registers a new stream for a creator', null, api(admin, 'victim'), 'write victim'],
    ['registering it again is not an error', owned('victim'), api(victim, 'victim'), 'unchanged'],
    [
      'first registration wins: another creator is refused',
      owned('victim'),
      api(attacker, 'attacker'),
      '409 stream_owned',
    ],
    [
      'an admin registering it for someone else is refused too',
      owned('victim'),
      api(admin, 'attacker'),
      '409 stream_owned',
    ],
    ['an admin reassigns it', owned('victim'), api(admin, 'other', true), 'write other (reassigned)'],
    ['an admin reassigns an unregistered stream: a registration', null, api(admin, 'other', true), 'write other'],
    ['a creator may not reassign', owned('victim'), api(attacker, 'attacker', true), '403 forbidden'],
    ['a creator registers for itself only', null, api(attacker, 'victim'), '403 forbidden'],
    ['analysts are read-only', null, api(analyst, 'victim'), '403 forbidden'],
    [
      "a creator may not claim an IVS stream before its channel's event",
      null,
      api(attacker, 'attacker', false, 'st-Abc1'),
      '409 ivs_stream',
    ],
    [
      'an admin may register an IVS stream of an untagged channel',
      null,
      api(admin, 'victim', false, 'st-Abc1'),
      'write victim',
    ],
    ["IVS's word registers a stream", null, ivs('victim'), 'write victim'],
    ["IVS's word replaces an API registration", owned('attacker'), ivs('victim'), 'write victim (reassigned)'],
    [
      'the same channel tag again changes nothing',
      owned('victim', 'ivs', 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1'),
      ivs('victim'),
      'unchanged',
    ],
    [
      'a retagged channel moves the stream',
      owned('victim', 'ivs', 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1'),
      ivs('other'),
      'write other (reassigned)',
    ],
  ] as const)('%s', (_what, current, claim, expected) => {
    expect(outcome(decideRegistration(current, claim))).toBe(expected);
  });

  it('writes who registered the stream and from where', () => {
    expect(decideRegistration(null, api(victim, 'victim'))).toMatchObject({
      kind: 'write',
      owner: { stream_id: 's1', creator_id: 'victim', source: 'api', channel_arn: '', registered_by: 'v' },
    });
    expect(decideRegistration(null, ivs('victim'))).toMatchObject({
      kind: 'write',
      owner: {
        stream_id: 'st-Abc1',
        source: 'ivs',
        channel_arn: 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1',
        registered_by: 'ivs',
      },
    });
  });
});
