import { describe, expect, it } from 'vitest';
import type { ApiIdentity } from '../../core/http/api-auth.ts';
import type { CreatorStream } from '../../stream-processors/viewer-analytics/metric-queries.ts';
import { chooseReadableStream } from './stream-access.ts';

const owner = (property_id: string, creator_id: string): CreatorStream => ({ property_id, creator_id, stream_id: 's1', first_window: 1, last_window: 2 });
const admin: ApiIdentity = { userId: 'a', role: 'admin' };
const analyst: ApiIdentity = { userId: 'b', role: 'analyst' };
const creator7: ApiIdentity = { userId: 'c', role: 'creator', creatorId: 'c7' };

describe('chooseReadableStream', () => {
  it.each([
    ['admin, one owner', admin, [owner('p1', 'c7')], undefined, { property_id: 'p1', creator_id: 'c7' }],
    ['analyst, one owner', analyst, [owner('p1', 'c8')], undefined, { property_id: 'p1', creator_id: 'c8' }],
    ['the owning creator', creator7, [owner('p1', 'c7')], undefined, { property_id: 'p1', creator_id: 'c7' }],
    ['a named property among two', admin, [owner('p1', 'c7'), owner('p2', 'c8')], 'p2', { property_id: 'p2', creator_id: 'c8' }],
    ['the creator among two creators of one property', creator7, [owner('p1', 'c6'), owner('p1', 'c7')], undefined, { creator_id: 'c7' }],
  ] as const)('%s', (_what, identity, owners, property, expected) => {
    expect(chooseReadableStream(identity, 's1', [...owners], property)).toMatchObject(expected);
  });

  it.each([
    ['no owner: 404', admin, [], undefined, 404, 'not_found'],
    ['no owner in the named property: 404', admin, [owner('p1', 'c7')], 'p2', 404, 'not_found'],
    ['two properties, none named: 409', admin, [owner('p1', 'c7'), owner('p2', 'c7')], undefined, 409, 'ambiguous_stream'],
    ["another creator's stream: 403", creator7, [owner('p1', 'c8')], undefined, 403, 'forbidden'],
    ['unknown to a creator: 404, not 403', creator7, [], undefined, 404, 'not_found'],
  ] as const)('%s', (_what, identity, owners, property, statusCode, code) => {
    expect(() => chooseReadableStream(identity, 's1', [...owners], property)).toThrow(expect.objectContaining({ statusCode, code }));
  });
});
