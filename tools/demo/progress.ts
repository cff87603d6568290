import type { PromptEvent } from '../../core/chat/protocol.ts';
import { aggregatesMessageValidator } from '../../core/analytics/aggregate-messages.ts';
import type { Bus, Subscription } from '../../core/bus/bus.ts';
import {
  clipEventValidator,
  highlightValidator,
  type ClipEvent,
  type Highlight,
} from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { ViewerCounts } from '../../stream-processors/highlights/viewer-counts.ts';
import type { ChatReport, ChatRoomEvent } from '../simulator/chatters.ts';

// What the demo tells the terminal: a status line every few seconds, and a line for each
// moderator action, host prompt, highlight and clip, read from the documented topics.

export const STATUS_EVERY_MS = 5_000;

/** `mm:ss` since the demo started. */
export function elapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000));
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

export interface DemoTally {
  viewers: number | undefined;
  chat: ChatReport;
  highlights: number;
  clips: number;
  prompts: number;
}

/** The periodic status line. */
export function statusLine(tally: DemoTally): string {
  const kinds = Object.values(tally.chat.byKind);
  const sum = (key: 'sent' | 'delivered' | 'held' | 'rejected') => kinds.reduce((n, c) => n + c[key], 0);
  const blocked = tally.chat.rejections.blocked ?? 0;
  return [
    `viewers ${tally.viewers ?? '–'}`,
    `chat ${sum('sent')} sent: ${sum('delivered')} shown, ${sum('held')} held, ${sum('rejected')} refused${blocked ? ` (${blocked} blocked)` : ''}`,
    `moderation ${tally.chat.removed} removed, ${tally.chat.denied} denied, ${tally.chat.timeouts} timeouts`,
    `highlights ${tally.highlights}`,
    `clips ${tally.clips}`,
    `prompts ${tally.prompts}`,
  ].join(' · ');
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Where a finished clip can be seen: the platform's URL, the board token and whether the live board serves clip files. */
export interface ClipLinks {
  url: string;
  boardToken: string;
  servesClipFiles: boolean;
}

/** The demo's progress: what it has seen of its stream, and the lines it prints about it. */
export class DemoProgress {
  readonly viewerCounts = new ViewerCounts();
  private readonly seenHighlights = new Set<string>();
  private readonly seenClips = new Set<string>();
  private readonly seenPrompts = new Set<string>();
  /** Set once the platform answers and the board token is minted. */
  clipLinks: ClipLinks = { url: '', boardToken: '', servesClipFiles: false };

  constructor(
    private readonly streamId: string,
    private readonly startedAt: number,
  ) {}

  say(line: string): void {
    print(`[${elapsed(Date.now() - this.startedAt)}] ${line}`);
  }

  /** `windowMs` back from now: the window before the current one, which every partition has reported. */
  tally(chat: ChatReport, windowMs: number): DemoTally {
    return {
      viewers: this.viewerCounts.at(this.streamId, Date.now() - windowMs),
      chat,
      highlights: this.seenHighlights.size,
      clips: this.seenClips.size,
      prompts: this.seenPrompts.size,
    };
  }

  onChatEvent(event: ChatRoomEvent): void {
    switch (event.kind) {
      case 'removed':
        this.say(`moderator removed a message: ${event.reason}`);
        break;
      case 'timeout':
        this.say(`moderator timed out ${event.userId}: ${event.reason}`);
        break;
      case 'prompt':
        this.notePrompt(event.prompt);
        break;
      default:
        // Clips are reported from the clips topic, which also names the failures; the rest is counted in the status line.
        break;
    }
  }

  private notePrompt(prompt: PromptEvent): void {
    if (this.seenPrompts.has(prompt.id)) return;
    this.seenPrompts.add(prompt.id);
    const askers =
      prompt.askers.length > 0
        ? `, asked by ${prompt.askers.slice(0, 3).join(', ')}${prompt.askers.length > 3 ? '…' : ''}`
        : '';
    this.say(`host prompt (priority ${prompt.priority}${askers}): ${prompt.prompt}`);
  }

  private noteHighlight(highlight: Highlight): void {
    if (highlight.stream_id !== this.streamId || this.seenHighlights.has(highlight.highlight_id)) return;
    this.seenHighlights.add(highlight.highlight_id);
    const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
    this.say(
      `highlight ${clock(highlight.start)}–${clock(highlight.end)} UTC: ${highlight.reasons.join('; ') || 'requested by the host'}`,
    );
  }

  private noteClip(clip: ClipEvent): void {
    if (clip.stream_id !== this.streamId) return;
    if (clip.status === 'failed') {
      this.say(`clip ${clip.clip_id} failed: ${clip.reason ?? 'no reason given'}`);
      return;
    }
    if (clip.status === 'updated') {
      this.say(`clip ${clip.clip_id}: vertical version and preview thumbnails added`);
      return;
    }
    if (this.seenClips.has(clip.clip_id)) return;
    this.seenClips.add(clip.clip_id);
    const { url, boardToken, servesClipFiles } = this.clipLinks;
    const status = `${url}/v1/clips/${clip.clip_id}`;
    // The live board serves clip files (with byte ranges, so a browser can play and seek); without it, the status has the object keys.
    const playable = servesClipFiles ? ` · play ${status}/files/mp4?token=${boardToken}` : '';
    this.say(
      `clip ready (${Math.round((clip.duration_ms ?? clip.end - clip.start) / 1_000)} s): ${status}?token=${boardToken}${playable}`,
    );
  }

  /** Viewer counts, highlights and clips from the documented topics, each read by a consumer group of the demo's own from the latest offset. */
  async watchTopics(bus: Bus, runId: string): Promise<Subscription[]> {
    const group = (name: string) => `demo.${name}.${runId}`;
    const parse = (value: Buffer): unknown => {
      try {
        return JSON.parse(value.toString('utf8'));
      } catch {
        return undefined;
      }
    };
    const watches: Array<{ name: string; topic: string; each: (value: unknown) => void }> = [
      {
        name: 'viewers',
        topic: TOPICS.analyticsAggregates,
        each: (v) => {
          if (aggregatesMessageValidator.check(v)) this.viewerCounts.observe(v);
        },
      },
      {
        name: 'highlights',
        topic: TOPICS.highlights,
        each: (v) => {
          if (highlightValidator.check(v)) this.noteHighlight(v);
        },
      },
      {
        name: 'clips',
        topic: TOPICS.clips,
        each: (v) => {
          if (clipEventValidator.check(v)) this.noteClip(v);
        },
      },
    ];
    const subscriptions: Subscription[] = [];
    for (const watch of watches) {
      subscriptions.push(
        await bus.subscribe({
          groupId: group(watch.name),
          topics: [watch.topic],
          startFrom: 'latest',
          handleBatch: (batch) => {
            for (const message of batch.messages) watch.each(parse(message.value));
            return Promise.resolve();
          },
        }),
      );
    }
    return subscriptions;
  }
}
