import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPolicyPatch, defaultChannelSettings } from '../../moderation/channel-settings.ts';
import type { ChannelTerm } from '../../moderation/term-rules.ts';
import type { ChatMessageView } from '../protocol.ts';
import { HELD_RETENTION_MS, type ChatStore, type HeldMessage, type Sanction } from './chat-store.ts';

/** What every ChatStore adapter must do, run against each. Each test uses a fresh stream id. */
export function describeChatStoreContract(name: string, make: () => Promise<ChatStore>): void {
  describe(`ChatStore contract: ${name}`, () => {
    let store: ChatStore;
    let stream: string;
    const now = Date.now();
    const message = (id: string, userId = 'u1'): ChatMessageView => ({
      id,
      streamId: stream,
      userId,
      name: userId,
      text: `text ${id}`,
      sentAt: now,
    });
    const sanction = (userId: string, until: number | null): Sanction => ({
      kind: until === null ? 'ban' : 'timeout',
      user_id: userId,
      until,
      reason: 'spam',
      by: 'mod',
      at: now,
    });
    const term = (id: string): ChannelTerm => ({
      id,
      kind: 'blocked',
      text: id,
      action: 'block',
      created_by: 'mod',
      created_at: now,
    });
    const held = (id: string, expiresAt: number): HeldMessage => ({
      message: message(id),
      senderSocketId: 'socket-1',
      reasons: ['spam.links'],
      heldAt: now,
      expiresAt,
    });

    beforeAll(async () => {
      store = await make();
    });
    afterAll(async () => {
      await store.close();
    });
    beforeEach(() => {
      stream = `contract-${randomUUID()}`;
    });

    it('keeps the newest history, oldest first', async () => {
      for (const id of ['m1', 'm2', 'm3', 'm4']) await store.appendHistory(stream, message(id), 3);
      expect((await store.recentHistory(stream, 10)).map((m) => m.id)).toEqual(['m2', 'm3', 'm4']);
      expect((await store.recentHistory(stream, 2)).map((m) => m.id)).toEqual(['m3', 'm4']);
      expect(await store.recentHistory(stream, 0)).toEqual([]);
      expect(await store.recentHistory(`${stream}-other`, 10)).toEqual([]);
    });

    it('removes one message or all of a user from history', async () => {
      for (const [id, user] of [
        ['a', 'u1'],
        ['b', 'u2'],
        ['c', 'u1'],
        ['d', 'u3'],
      ])
        await store.appendHistory(stream, message(id!, user), 10);
      expect(await store.removeFromHistory(stream, { messageId: 'd' })).toEqual(['d']);
      expect((await store.removeFromHistory(stream, { userId: 'u1' })).sort()).toEqual(['a', 'c']);
      expect(await store.removeFromHistory(stream, { messageId: 'missing' })).toEqual([]);
      expect((await store.recentHistory(stream, 10)).map((m) => m.id)).toEqual(['b']);
    });

    it('keeps bans, expires timeouts and lifts sanctions', async () => {
      await store.putSanction(stream, sanction('banned', null));
      await store.putSanction(stream, sanction('timed-out', now + 60_000));
      await store.putSanction(stream, sanction('expired', now - 1));
      expect(await store.getSanction(stream, 'banned', now)).toMatchObject({ kind: 'ban', until: null });
      expect(await store.getSanction(stream, 'timed-out', now)).toMatchObject({ kind: 'timeout' });
      expect(await store.getSanction(stream, 'expired', now)).toBeNull();
      expect(await store.getSanction(stream, 'nobody', now)).toBeNull();
      expect((await store.listSanctions(stream, now)).map((s) => s.user_id).sort()).toEqual(['banned', 'timed-out']);
      expect(await store.getSanction(stream, 'timed-out', now + 60_001)).toBeNull();
      expect(await store.deleteSanction(stream, 'banned')).toBe(true);
      expect(await store.deleteSanction(stream, 'banned')).toBe(false);
      expect(await store.getSanction(stream, 'banned', now)).toBeNull();
    });

    it('updates settings from the initial value and then from what is stored', async () => {
      const initial = defaultChannelSettings({ anonymousViewers: true });
      expect(await store.getSettings(stream)).toBeNull();
      const slow = await store.updateSettings(stream, initial, (s) => ({
        ...s,
        modes: { ...s.modes, slow_mode_seconds: 30 },
      }));
      expect(slow.modes.slow_mode_seconds).toBe(30);
      const strict = await store.updateSettings(stream, initial, (s) => ({
        ...s,
        policy: applyPolicyPatch(s.policy, { overall_level: 4 }),
      }));
      expect(strict.modes.slow_mode_seconds).toBe(30);
      expect(await store.getSettings(stream)).toEqual(strict);
    });

    it('loses no update when settings change concurrently', async () => {
      const initial = defaultChannelSettings({ anonymousViewers: true });
      const emotes = Array.from({ length: 5 }, (_, i) => `emote${i}`);
      await Promise.all(
        emotes.map((emote) =>
          store.updateSettings(stream, initial, (s) => ({
            ...s,
            policy: { ...s.policy, channel_emotes: [...s.policy.channel_emotes, emote] },
          })),
        ),
      );
      expect((await store.getSettings(stream))?.policy.channel_emotes.sort()).toEqual(emotes);
    });

    it('stores terms up to a limit, replaces by id and deletes', async () => {
      expect(await store.putTerm(stream, term('t1'), 2)).toBe(true);
      expect(await store.putTerm(stream, term('t2'), 2)).toBe(true);
      expect(await store.putTerm(stream, term('t3'), 2)).toBe(false);
      expect(await store.putTerm(stream, { ...term('t2'), action: 'hold' }, 2)).toBe(true);
      expect((await store.listTerms(stream)).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        term('t1'),
        { ...term('t2'), action: 'hold' },
      ]);
      expect(await store.deleteTerm(stream, 't1')).toEqual(term('t1'));
      expect(await store.deleteTerm(stream, 't1')).toBeNull();
      expect((await store.listTerms(stream)).map((t) => t.id)).toEqual(['t2']);
    });

    it("keeps a stream's staff: grants, revocations and the sorted list, whatever the user ids", async () => {
      expect(await store.listStaff(stream)).toEqual([]);
      for (const userId of ['zoe', 'ann', 'constructor', '__proto__', 'ann']) await store.grantStaff(stream, userId);
      expect(await store.listStaff(stream)).toEqual(['__proto__', 'ann', 'constructor', 'zoe']);
      expect([
        await store.isStaff(stream, 'ann'),
        await store.isStaff(stream, '__proto__'),
        await store.isStaff(stream, 'toString'),
        await store.isStaff(`${stream}-other`, 'ann'),
      ]).toEqual([true, true, false, false]);
      expect(await store.revokeStaff(stream, 'ann')).toBe(true);
      expect(await store.revokeStaff(stream, 'ann')).toBe(false);
      expect(await store.revokeStaff(`${stream}-other`, 'zoe')).toBe(false);
      expect(await store.isStaff(stream, 'ann')).toBe(false);
      expect(await store.listStaff(stream)).toEqual(['__proto__', 'constructor', 'zoe']);
    });

    it('hands a held message to exactly one taker', async () => {
      await store.putHeld(stream, held('h1', Date.now() + 60_000));
      await store.putHeld(stream, held('h2', Date.now() + 60_000));
      expect((await store.listHeld(stream, Date.now())).map((h) => h.message.id).sort()).toEqual(['h1', 'h2']);
      const takes = await Promise.all([
        store.takeHeld(stream, 'h1'),
        store.takeHeld(stream, 'h1'),
        store.takeHeld(stream, 'h1'),
      ]);
      expect(takes.filter((t) => t !== null)).toHaveLength(1);
      expect(takes.find((t) => t !== null)?.message.id).toBe('h1');
      expect((await store.listHeld(stream, Date.now())).map((h) => h.message.id)).toEqual(['h2']);
    });

    it('lists held messages only until their deadline, but lets the timeout take them after it', async () => {
      await store.putHeld(stream, held('soon', Date.now() + 150));
      await sleep(300);
      expect(await store.listHeld(stream, Date.now())).toEqual([]);
      expect((await store.takeHeld(stream, 'soon'))?.message.id).toBe('soon');
    });

    it('forgets held messages nobody took, after the retention', async () => {
      await store.putHeld(stream, held('stale', Date.now() - HELD_RETENTION_MS - 1));
      expect(await store.takeHeld(stream, 'stale')).toBeNull();
    });
  });
}
