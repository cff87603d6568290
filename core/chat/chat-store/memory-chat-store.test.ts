import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultChannelSettings } from '../../moderation/channel-settings.ts';
import { describeChatStoreContract } from './chat-store.contract.ts';
import { ChatStateFileError, MemoryChatStore } from './memory-chat-store.ts';

describeChatStoreContract('memory', () => MemoryChatStore.open());

describe('MemoryChatStore persistence', () => {
  const dirs: string[] = [];
  const stateFile = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'livepulse-chat-'));
    dirs.push(dir);
    return join(dir, 'chat', 'moderation-state.json');
  };
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('brings bans, live timeouts, settings, terms and staff back after a restart, not history or held messages', async () => {
    const path = await stateFile();
    const now = Date.now();
    const first = await MemoryChatStore.open(path);
    await first.putSanction('s1', { kind: 'ban', user_id: 'troll', until: null, reason: 'abuse', by: 'mod', at: now });
    await first.putSanction('s1', {
      kind: 'timeout',
      user_id: 'hothead',
      until: now + 60_000,
      reason: 'calm down',
      by: 'mod',
      at: now,
    });
    await first.putSanction('s1', {
      kind: 'timeout',
      user_id: 'brief',
      until: now + 50,
      reason: 'short',
      by: 'mod',
      at: now,
    });
    await first.updateSettings('s1', defaultChannelSettings({ anonymousViewers: true }), (s) => ({
      ...s,
      modes: { ...s.modes, emote_only: true },
    }));
    await first.putTerm(
      's1',
      { id: 't1', kind: 'blocked', text: 'spoiler*', action: 'block', created_by: 'mod', created_at: now },
      10,
    );
    await first.appendHistory('s1', { id: 'm1', streamId: 's1', userId: 'u', name: 'u', text: 'hi', sentAt: now }, 10);
    await first.grantStaff('s1', 'helper');
    await first.grantStaff('s1', 'former');
    await first.revokeStaff('s1', 'former');
    await first.close();
    await sleep(60);

    const second = await MemoryChatStore.open(path);
    expect(await second.getSanction('s1', 'troll', Date.now())).toMatchObject({ kind: 'ban' });
    expect(await second.getSanction('s1', 'hothead', Date.now())).toMatchObject({ kind: 'timeout' });
    expect(await second.getSanction('s1', 'brief', Date.now())).toBeNull();
    expect((await second.getSettings('s1'))?.modes.emote_only).toBe(true);
    expect((await second.listTerms('s1')).map((t) => t.text)).toEqual(['spoiler*']);
    expect(await second.recentHistory('s1', 10)).toEqual([]);
    expect(await second.listStaff('s1')).toEqual(['helper']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ format: 1 });
  });

  it('refuses to start on a corrupt state file rather than forgetting every ban', async () => {
    const path = await stateFile();
    const first = await MemoryChatStore.open(path);
    await first.putSanction('s1', { kind: 'ban', user_id: 'x', until: null, reason: 'r', by: 'm', at: Date.now() });
    await first.close();
    await writeFile(path, '{"format":1,"streams":');
    await expect(MemoryChatStore.open(path)).rejects.toThrow(ChatStateFileError);
    await writeFile(path, '{"format":99}');
    await expect(MemoryChatStore.open(path)).rejects.toThrow(/unknown format/);
  });

  it('is one store per state file in a process, as the gateway and the clip route share it, until every opener closed it', async () => {
    const path = await stateFile();
    const gateway = await MemoryChatStore.open(path);
    const clipRoute = await MemoryChatStore.open(path);
    await gateway.grantStaff('s1', 'helper');
    expect(await clipRoute.isStaff('s1', 'helper')).toBe(true);
    await gateway.close();
    await clipRoute.revokeStaff('s1', 'helper');
    await clipRoute.close();
    const reopened = await MemoryChatStore.open(path);
    expect(await reopened.listStaff('s1')).toEqual([]);
    await reopened.close();
  });
});
