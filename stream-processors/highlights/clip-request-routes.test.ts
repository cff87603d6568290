import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, OutgoingMessage } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { loadConfig } from '../../core/config.ts';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { highlightValidator, type Highlight } from '../../core/schemas/highlight.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { createChatTokenVerifier } from '../../core/chat/chat-token.ts';
import { MemoryChatStore } from '../../core/chat/chat-store/memory-chat-store.ts';
import { InvalidClipRequestError, requestedHighlight } from '../../core/clips/clip-requests.ts';
import { clipRequestRoutes } from './clip-request-routes.ts';

const AT = Date.parse('2026-05-01T20:00:07.400Z');

describe('requestedHighlight', () => {
  it('reaches back from the request, aligned to the second, as a valid highlight', () => {
    const highlight = requestedHighlight({
      streamId: 'st-1',
      requestedBy: 'host-1',
      at: AT,
      secondsBefore: 25,
      secondsAfter: 5,
    });
    expect(highlightValidator.errors(highlight)).toEqual([]);
    expect(highlight).toMatchObject({
      stream_id: 'st-1',
      start: Date.parse('2026-05-01T19:59:42Z'),
      end: Date.parse('2026-05-01T20:00:12Z'),
      score: 0,
      requested_by: 'host-1',
      reasons: ['requested'],
    });
    expect(
      requestedHighlight({ streamId: 'st-1', requestedBy: 'mod-2', at: AT + 500, secondsBefore: 25, secondsAfter: 5 })
        .highlight_id,
    ).toBe(highlight.highlight_id);
  });

  it.each([
    [2, 2],
    [50, 20],
  ])('refuses %i s before and %i s after', (before, after) => {
    expect(() =>
      requestedHighlight({ streamId: 'st-1', requestedBy: 'h', at: AT, secondsBefore: before, secondsAfter: after }),
    ).toThrow(InvalidClipRequestError);
  });
});

describe('POST /v1/streams/:streamId/clips', () => {
  const config = loadConfig({});
  const secret = new TextEncoder().encode(config.auth.jwtSecret);
  let app: FastifyInstance;
  let bus: EmbeddedBus;
  let liveState: MemoryLiveState;
  let chatStore: MemoryChatStore;
  let published: OutgoingMessage[];

  const token = (roles: Record<string, string>, sub = 'host-1') =>
    new SignJWT({ roles, name: sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('5m')
      .sign(secret);

  beforeEach(async () => {
    bus = new EmbeddedBus({
      defaultPartitions: 1,
      maxRetainedMessages: 1_000,
      publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
    });
    await bus.ensureTopics(allTopicSpecs(1));
    published = [];
    const recording: Bus = Object.assign(Object.create(bus) as Bus, {
      publish: async (topic: string, messages: OutgoingMessage[]) => {
        if (topic === TOPICS.highlights) published.push(...messages);
        await bus.publish(topic, messages);
      },
    });
    liveState = new MemoryLiveState();
    chatStore = await MemoryChatStore.open();
    app = Fastify();
    await app.register(clipRequestRoutes, {
      prefix: '/v1',
      bus: recording,
      liveState,
      staffRoster: chatStore,
      tokens: createChatTokenVerifier(config.auth),
      clipIdOf: (h: Highlight) => `clip_for_${h.highlight_id}`,
      perUserPerMinute: 2,
      now: () => AT,
    });
  });

  afterEach(async () => {
    await app.close();
    await bus.close();
    await liveState.close();
    await chatStore.close();
  });

  it('publishes the highlight for a host and answers where to follow the clip', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/streams/st-1/clips',
      headers: { authorization: `Bearer ${await token({ 'st-1': 'host' })}` },
      payload: { seconds_before: 20 },
    });
    expect(response.statusCode).toBe(202);
    const body = response.json<{ highlight_id: string; clip_id: string; status_url: string }>();
    expect(published).toHaveLength(1);
    const highlight = JSON.parse(published[0]!.value.toString()) as Highlight;
    expect(published[0]!.key).toBe('st-1');
    expect(highlight).toMatchObject({
      highlight_id: body.highlight_id,
      requested_by: 'host-1',
      end: highlight.start + 25_000,
    });
    expect(body.status_url).toBe(`/v1/clips/${body.clip_id}`);
  });

  it.each([
    ['no token', undefined, 401],
    ['a forged token', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', 401],
  ])('answers %s with $2', async (_what, authorization, status) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/streams/st-1/clips',
      headers: authorization ? { authorization } : {},
    });
    expect(response.statusCode).toBe(status);
    expect(published).toEqual([]);
  });

  it('refuses viewers, hosts of other streams, and bad windows', async () => {
    for (const roles of [{ 'st-1': 'viewer' }, { 'st-9': 'host' }, { '*': 'viewer' }] as Array<
      Record<string, string>
    >) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/streams/st-1/clips',
        headers: { authorization: `Bearer ${await token(roles)}` },
      });
      expect(response.statusCode).toBe(403);
    }
    const tooLong = await app.inject({
      method: 'POST',
      url: '/v1/streams/st-1/clips',
      headers: { authorization: `Bearer ${await token({ '*': 'admin' })}` },
      payload: { seconds_before: 60, seconds_after: 30 },
    });
    expect(tooLong.json()).toMatchObject({
      error: 'invalid_request',
      message: expect.stringMatching(/a clip is 5–60 s/) as unknown,
    });
    expect(tooLong.statusCode).toBe(400);
    expect(published).toEqual([]);
  });

  it("accepts a moderator the stream's host granted, as chat's !clip does", async () => {
    const authorization = `Bearer ${await token({ 'st-1': 'viewer' }, 'granted-mod')}`;
    expect(
      (await app.inject({ method: 'POST', url: '/v1/streams/st-1/clips', headers: { authorization } })).statusCode,
    ).toBe(403);
    await chatStore.grantStaff('st-1', 'granted-mod');
    expect(
      (await app.inject({ method: 'POST', url: '/v1/streams/st-1/clips', headers: { authorization } })).statusCode,
    ).toBe(202);
  });

  it('limits requests per user and stream', async () => {
    const authorization = `Bearer ${await token({ 'st-1': 'moderator' }, 'mod-1')}`;
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await app.inject({ method: 'POST', url: '/v1/streams/st-1/clips', headers: { authorization } })).statusCode,
      );
    expect(statuses).toEqual([202, 202, 429]);
  });
});
