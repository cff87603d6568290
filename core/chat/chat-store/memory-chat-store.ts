import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ChannelSettings } from '../../moderation/channel-settings.ts';
import type { ChannelTerm } from '../../moderation/term-rules.ts';
import type { ChatMessageView } from '../protocol.ts';
import {
  activeSanction,
  HELD_RETENTION_MS,
  type ChatStore,
  type HeldMessage,
  type HistoryRemoval,
  type Sanction,
} from './chat-store.ts';

/** Maps, not plain objects: user and term ids are clients' choice, and `__proto__` is a valid id. */
interface DurableStreamState {
  sanctions: Map<string, Sanction>;
  staff: Set<string>;
  settings: ChannelSettings | null;
  terms: Map<string, ChannelTerm>;
}

interface StreamStateRecord {
  sanctions?: Record<string, Sanction>;
  /** Added after format 1 was first written; a file without it has no staff. */
  staff?: string[];
  settings?: ChannelSettings | null;
  terms?: Record<string, ChannelTerm>;
}

interface StateFile {
  format: 1;
  streams: Record<string, StreamStateRecord>;
}

export class ChatStateFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `chat state file ${path} cannot be read: ${reason}; fix or move it away (bans, staff and settings live there)`,
      options,
    );
    this.name = 'ChatStateFileError';
  }
}

/**
 * The stores open in this process, by state file: the services of one process (the gateway, the
 * highlight detector's clip route) share one, since two copies of one file would each overwrite
 * the other's changes and never see them.
 */
const openStores = new Map<string, { store: Promise<MemoryChatStore>; users: number }>();

/**
 * The embedded-mode chat store: one process, in memory. Bans, timeouts, staff, settings and terms
 * are also written to a JSON file (atomically: temp file, then rename) before a change resolves, and
 * read back at start, so they survive a restart. History and held messages are in memory only:
 * a restart drops the sockets that were waiting on them anyway.
 */
export class MemoryChatStore implements ChatStore {
  readonly kind = 'memory';
  private readonly durable = new Map<string, DurableStreamState>();
  private readonly history = new Map<string, ChatMessageView[]>();
  private readonly held = new Map<string, Map<string, HeldMessage>>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly statePath: string | undefined) {}

  /**
   * Opens the store, loading `statePath` when given and present. Opening a file this process
   * already has open returns the same store, until every opener closed it.
   */
  static async open(statePath?: string): Promise<MemoryChatStore> {
    if (!statePath) return new MemoryChatStore(undefined);
    const path = resolve(statePath);
    let entry = openStores.get(path);
    if (!entry) {
      const store = new MemoryChatStore(path);
      entry = { store: store.load(path).then(() => store), users: 0 };
      openStores.set(path, entry);
    }
    entry.users++;
    try {
      return await entry.store;
    } catch (error) {
      if (openStores.get(path) === entry) openStores.delete(path);
      throw error;
    }
  }

  appendHistory(streamId: string, message: ChatMessageView, keep: number): Promise<void> {
    const list = this.history.get(streamId) ?? [];
    list.push(message);
    if (list.length > keep) list.splice(0, list.length - keep);
    this.history.set(streamId, list);
    return Promise.resolve();
  }

  recentHistory(streamId: string, limit: number): Promise<ChatMessageView[]> {
    return Promise.resolve(limit > 0 ? (this.history.get(streamId) ?? []).slice(-limit) : []);
  }

  removeFromHistory(streamId: string, which: HistoryRemoval): Promise<string[]> {
    const list = this.history.get(streamId) ?? [];
    const removes = (m: ChatMessageView) =>
      'messageId' in which ? m.id === which.messageId : m.userId === which.userId;
    const removed = list.filter(removes).map((m) => m.id);
    this.history.set(
      streamId,
      list.filter((m) => !removes(m)),
    );
    return Promise.resolve(removed);
  }

  async putSanction(streamId: string, sanction: Sanction): Promise<void> {
    this.stream(streamId).sanctions.set(sanction.user_id, sanction);
    await this.persist();
  }

  getSanction(streamId: string, userId: string, now: number): Promise<Sanction | null> {
    return Promise.resolve(activeSanction(this.durable.get(streamId)?.sanctions.get(userId), now));
  }

  async deleteSanction(streamId: string, userId: string): Promise<boolean> {
    if (!this.durable.get(streamId)?.sanctions.delete(userId)) return false;
    await this.persist();
    return true;
  }

  listSanctions(streamId: string, now: number): Promise<Sanction[]> {
    return Promise.resolve(
      [...(this.durable.get(streamId)?.sanctions.values() ?? [])].filter((s) => activeSanction(s, now)),
    );
  }

  async grantStaff(streamId: string, userId: string): Promise<void> {
    const staff = this.stream(streamId).staff;
    if (staff.has(userId)) return;
    staff.add(userId);
    await this.persist();
  }

  async revokeStaff(streamId: string, userId: string): Promise<boolean> {
    if (!this.durable.get(streamId)?.staff.delete(userId)) return false;
    await this.persist();
    return true;
  }

  isStaff(streamId: string, userId: string): Promise<boolean> {
    return Promise.resolve(this.durable.get(streamId)?.staff.has(userId) ?? false);
  }

  listStaff(streamId: string): Promise<string[]> {
    return Promise.resolve([...(this.durable.get(streamId)?.staff ?? [])].sort());
  }

  getSettings(streamId: string): Promise<ChannelSettings | null> {
    return Promise.resolve(this.durable.get(streamId)?.settings ?? null);
  }

  async updateSettings(
    streamId: string,
    initial: ChannelSettings,
    change: (current: ChannelSettings) => ChannelSettings,
  ): Promise<ChannelSettings> {
    const state = this.stream(streamId);
    const next = change(state.settings ?? initial);
    state.settings = next;
    await this.persist();
    return next;
  }

  listTerms(streamId: string): Promise<ChannelTerm[]> {
    return Promise.resolve([...(this.durable.get(streamId)?.terms.values() ?? [])]);
  }

  async putTerm(streamId: string, term: ChannelTerm, limit: number): Promise<boolean> {
    const terms = this.stream(streamId).terms;
    if (!terms.has(term.id) && terms.size >= limit) return false;
    terms.set(term.id, term);
    await this.persist();
    return true;
  }

  async deleteTerm(streamId: string, termId: string): Promise<ChannelTerm | null> {
    const terms = this.durable.get(streamId)?.terms;
    const term = terms?.get(termId);
    if (!terms || !term) return null;
    terms.delete(termId);
    await this.persist();
    return term;
  }

  putHeld(streamId: string, held: HeldMessage): Promise<void> {
    const forStream = this.held.get(streamId) ?? new Map<string, HeldMessage>();
    forStream.set(held.message.id, held);
    this.held.set(streamId, forStream);
    return Promise.resolve();
  }

  takeHeld(streamId: string, messageId: string): Promise<HeldMessage | null> {
    const forStream = this.held.get(streamId);
    const held = forStream?.get(messageId);
    if (!forStream || !held) return Promise.resolve(null);
    forStream.delete(messageId);
    return Promise.resolve(held.expiresAt + HELD_RETENTION_MS > Date.now() ? held : null);
  }

  listHeld(streamId: string, now: number): Promise<HeldMessage[]> {
    const forStream = this.held.get(streamId);
    if (!forStream) return Promise.resolve([]);
    for (const [id, held] of forStream) if (held.expiresAt + HELD_RETENTION_MS <= now) forStream.delete(id);
    return Promise.resolve(
      [...forStream.values()].filter((held) => held.expiresAt > now).sort((a, b) => a.heldAt - b.heldAt),
    );
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    await this.writing;
    const entry = this.statePath === undefined ? undefined : openStores.get(this.statePath);
    if (entry && --entry.users === 0) openStores.delete(this.statePath!);
  }

  private stream(streamId: string): DurableStreamState {
    let state = this.durable.get(streamId);
    if (!state) {
      state = { sanctions: new Map(), staff: new Set(), settings: null, terms: new Map() };
      this.durable.set(streamId, state);
    }
    return state;
  }

  private async load(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ChatStateFileError(path, (error as Error).message, { cause: error });
    }
    let parsed: StateFile;
    try {
      parsed = JSON.parse(text) as StateFile;
    } catch (error) {
      throw new ChatStateFileError(path, 'not valid JSON', { cause: error });
    }
    if (parsed?.format !== 1 || typeof parsed.streams !== 'object' || parsed.streams === null) {
      throw new ChatStateFileError(path, 'unknown format');
    }
    const now = Date.now();
    for (const [streamId, state] of Object.entries(parsed.streams)) {
      const sanctions = new Map(Object.entries(state.sanctions ?? {}).filter(([, s]) => activeSanction(s, now)));
      this.durable.set(streamId, {
        sanctions,
        staff: new Set(state.staff ?? []),
        settings: state.settings ?? null,
        terms: new Map(Object.entries(state.terms ?? {})),
      });
    }
  }

  /** Writes the whole durable state; writes are serialised, and each caller waits for one that includes its change. */
  private persist(): Promise<void> {
    const path = this.statePath;
    if (!path) return Promise.resolve();
    // Object.fromEntries defines own properties, so a `__proto__` id is written like any other.
    const streams = [...this.durable].map(([streamId, state]): [string, StreamStateRecord] => [
      streamId,
      {
        sanctions: Object.fromEntries(state.sanctions),
        staff: [...state.staff],
        settings: state.settings,
        terms: Object.fromEntries(state.terms),
      },
    ]);
    const snapshot: StateFile = { format: 1, streams: Object.fromEntries(streams) };
    const text = JSON.stringify(snapshot);
    const write = this.writing.then(async () => {
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, text);
      await rename(temporary, path);
    });
    // A failed write fails its caller; the next write starts afresh rather than inheriting it.
    this.writing = write.catch(() => undefined);
    return write;
  }
}
