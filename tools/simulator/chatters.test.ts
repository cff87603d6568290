import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startChatGateway,
  TEST_JWT_SECRET,
  type ChatGatewayUnderTest,
} from '../../chat-gateway/testing/chat-test-kit.ts';
import { waitFor } from '../../test/wait-for.ts';
import type { ChatScript } from './chat-scripts.ts';
import { ChatConnectionError, ChatRoom, type ChatRoomEvent } from './chatters.ts';

/** A small hand-written script whose every line has one known fate at the gateway's default policy. */
const script: ChatScript = {
  chatters: [
    { userId: 'regular-1', name: 'Ada', persona: 'regular' },
    { userId: 'spammer-1', name: 'Spam Sam', persona: 'spammer' },
    { userId: 'troll-1', name: 'Troll Tom', persona: 'troll' },
    { userId: 'curious-1', name: 'Cleo', persona: 'curious' },
  ],
  lines: [
    { atMs: 0, chatter: 0, kind: 'chat', text: 'hi everyone' },
    { atMs: 100, chatter: 3, kind: 'question', text: 'what camera is this?' },
    { atMs: 200, chatter: 1, kind: 'spam', text: 'free skins at skinsfree.xyz' },
    { atMs: 300, chatter: 2, kind: 'abuse', text: 'you are so stupid' },
    { atMs: 400, chatter: 2, kind: 'abuse', text: 'i will find you' },
    // A link from a regular is held too; the moderator approves it.
    { atMs: 500, chatter: 0, kind: 'chat', text: 'the schedule is on example.com/schedule' },
    { atMs: 700, chatter: 1, kind: 'spam', text: 'free skins at skinsfree.xyz', repeatOf: 2 },
    { atMs: 900, chatter: 2, kind: 'abuse', text: 'ur a clown and everyone knows it' },
    { atMs: 1_000, chatter: 3, kind: 'hype', text: "let's gooo" },
    // By now the troll has been removed twice and timed out.
    { atMs: 2_500, chatter: 2, kind: 'abuse', text: 'you are such a loser' },
  ],
};

describe('ChatRoom against the chat gateway', () => {
  let gateway: ChatGatewayUnderTest;

  beforeAll(async () => {
    gateway = await startChatGateway();
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('plays every line, and the moderator removes, denies, approves and times out as a person would', async () => {
    const events: ChatRoomEvent[] = [];
    const room = await ChatRoom.open({
      url: gateway.url,
      streamId: 'st-chatters',
      jwtSecret: TEST_JWT_SECRET,
      runId: 't1',
      moderatorDelayMs: [50, 100],
      onEvent: (e) => events.push(e),
    });
    await room.play(script, Date.now() + 200, new AbortController().signal);
    await waitFor(
      'the moderator and the host to see every action',
      () =>
        room.report.removed === 2 &&
        room.report.denied === 2 &&
        room.report.released === 1 &&
        room.report.timeouts === 1,
      { timeoutMs: 10_000 },
    );
    await room.close();

    expect(room.report.byKind).toEqual({
      chat: { sent: 2, delivered: 1, held: 1, rejected: 0 },
      question: { sent: 1, delivered: 1, held: 0, rejected: 0 },
      spam: { sent: 2, delivered: 0, held: 1, rejected: 1 },
      abuse: { sent: 4, delivered: 2, held: 1, rejected: 1 },
      hype: { sent: 1, delivered: 1, held: 0, rejected: 0 },
    });
    expect(room.report.rejections).toEqual({ duplicate: 1, timed_out: 1 });
    const removals = events.filter((e) => e.kind === 'removed');
    expect(removals.map((e) => e.kind === 'removed' && e.reason)).toEqual([
      'harassment: a directed insult',
      'harassment: a directed insult',
    ]);
    const resolved = events.flatMap((e) => (e.kind === 'held_resolved' ? [`${e.action} by ${e.by}`] : []));
    expect(resolved.sort()).toEqual(['deny by moderator', 'deny by moderator', 'release by moderator']);
    expect(events.filter((e) => e.kind === 'sent')).toHaveLength(script.lines.length);
  });

  it('stops sending when aborted, counting only what was sent', async () => {
    const room = await ChatRoom.open({
      url: gateway.url,
      streamId: 'st-chatters-abort',
      jwtSecret: TEST_JWT_SECRET,
      runId: 't2',
    });
    const stop = new AbortController();
    const playing = room.play(script, Date.now() + 300, stop.signal);
    await waitFor(
      'the first lines to be sent',
      () => room.report.byKind.chat.sent > 0 && room.report.byKind.question.sent > 0,
    );
    stop.abort();
    await playing;
    await room.close();
    const sent = Object.values(room.report.byKind).reduce((n, c) => n + c.sent, 0);
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThan(script.lines.length);
  });

  it('fails to open with a token the gateway does not accept', async () => {
    await expect(
      ChatRoom.open({
        url: gateway.url,
        streamId: 'st-x',
        jwtSecret: 'another-secret-that-is-long-enough-0123',
        runId: 't3',
      }),
    ).rejects.toThrow(ChatConnectionError);
  });
});
