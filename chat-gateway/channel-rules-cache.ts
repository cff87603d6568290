import type { ChannelSettings } from '../core/moderation/channel-settings.ts';
import { compileChannelRules, type ChannelRules } from '../core/moderation/moderate-message.ts';
import type { ChatStore } from '../core/chat/chat-store/chat-store.ts';

export interface ChannelView {
  settings: ChannelSettings;
  rules: ChannelRules;
}

interface Entry {
  view: Promise<ChannelView>;
  loadedAt: number;
}

/**
 * Each node's compiled copy of a channel's settings and terms, so a message costs no store read
 * and no regex compilation. A change made on this node invalidates at once, one made on another
 * node arrives as a cluster event, and every entry is reloaded after `ttlMs` in any case, which
 * bounds staleness if that event is lost. Concurrent misses share one load.
 */
export class ChannelRulesCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: ChatStore,
    private readonly defaults: () => ChannelSettings,
    private readonly ttlMs = 1_000,
    private readonly maxChannels = 10_000,
  ) {}

  get(streamId: string, now = Date.now()): Promise<ChannelView> {
    const entry = this.entries.get(streamId);
    if (entry && now - entry.loadedAt < this.ttlMs) return entry.view;
    const view = this.load(streamId, now);
    // A failed load is not cached: the next message tries again.
    view.catch(() => this.entries.get(streamId)?.view === view && this.entries.delete(streamId));
    this.entries.delete(streamId);
    if (this.entries.size >= this.maxChannels) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(streamId, { view, loadedAt: now });
    return view;
  }

  invalidate(streamId: string): void {
    this.entries.delete(streamId);
  }

  private async load(streamId: string, now: number): Promise<ChannelView> {
    const [stored, terms] = await Promise.all([this.store.getSettings(streamId), this.store.listTerms(streamId)]);
    const settings = stored ?? this.defaults();
    return { settings, rules: compileChannelRules(settings, terms, now) };
  }
}
