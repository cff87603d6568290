import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { waitFor } from '../../test/wait-for.ts';
import { newSessionState, type CmcdSessionState } from './cmcd-session.ts';
import { CmcdSessionStore, SessionBusyError, type SessionWork } from './cmcd-session-store.ts';

const liveState = new MemoryLiveState();
afterEach(async () => {
  for (const key of ['ingest:cmcd:p:s', 'ingest:cmcd-lease:p:s']) await liveState.delete(key);
});

const stateWithSeq = (viewSeq: number): CmcdSessionState => ({
  ...newSessionState('s', { v: 2, ts: 1 } as never),
  viewSeq,
});

describe('CmcdSessionStore', () => {
  it('runs the requests of one session one after another, each seeing the state the previous stored', async () => {
    const store = new CmcdSessionStore(liveState, { ttlMs: 60_000 });
    const seen: number[] = [];
    const bump = (pause: number) =>
      store.withSession('p:s', async (state) => {
        const seq = state?.viewSeq ?? 0;
        await sleep(pause);
        seen.push(seq);
        return { next: stateWithSeq(seq + 1), result: seq };
      });
    expect(await Promise.all([bump(30), bump(0), bump(10)])).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('keeps the stored state when the work fails or stores nothing', async () => {
    const store = new CmcdSessionStore(liveState, { ttlMs: 60_000 });
    await store.withSession('p:s', () => Promise.resolve({ next: stateWithSeq(5), result: null }));
    await expect(store.withSession('p:s', async () => Promise.reject(new Error('bus down')))).rejects.toThrow(
      'bus down',
    );
    await store.withSession('p:s', () => Promise.resolve({ result: null }));
    expect(await store.withSession('p:s', (state) => Promise.resolve({ result: state?.viewSeq }))).toBe(5);
  });

  it('waits for another node holding the session, and gives up with SessionBusyError', async () => {
    const nodeA = new CmcdSessionStore(liveState, { ttlMs: 60_000 });
    const nodeB = new CmcdSessionStore(liveState, { ttlMs: 60_000, maxWaitMs: 100 });
    let release!: () => void;
    const held = nodeA.withSession(
      'p:s',
      () =>
        new Promise<SessionWork<string>>(
          (resolve) => (release = () => resolve({ next: stateWithSeq(1), result: 'a' })),
        ),
    );
    await waitFor('node A to hold the session', () => liveState.get('ingest:cmcd-lease:p:s'));
    await expect(nodeB.withSession('p:s', () => Promise.resolve({ result: 'b' }))).rejects.toBeInstanceOf(
      SessionBusyError,
    );
    const waiting = new CmcdSessionStore(liveState, { ttlMs: 60_000, maxWaitMs: 2_000 }).withSession('p:s', (state) =>
      Promise.resolve({ result: state?.viewSeq }),
    );
    await sleep(30);
    release();
    expect(await held).toBe('a');
    expect(await waiting).toBe(1);
  });

  it('starts afresh from a stored state it cannot read', async () => {
    const store = new CmcdSessionStore(liveState, { ttlMs: 60_000 });
    for (const junk of ['{not json', '{"v":99}', 'null']) {
      await liveState.set('ingest:cmcd:p:s', junk, 60_000);
      expect(await store.withSession('p:s', (state) => Promise.resolve({ result: state }))).toBeUndefined();
    }
  });
});
