import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { FluentFfmpeg } from '../../clip-worker/ffmpeg/ffmpeg.ts';
import { renditionFromName } from '../../clip-worker/live-stream-command.ts';
import { ivsStyleId, runSyntheticStream, type SyntheticBroadcast } from '../../clip-worker/synthetic-stream.ts';
import { IVS_SECRET_HEADER } from '../../ingest-api/ivs/ivs-route.ts';
import { ViewerCounts } from '../../stream-processors/highlights/viewer-counts.ts';
import { hypeSpikeTimes, planChatScript } from '../../stream-processors/simulator/chat-scripts.ts';
import type { PromptEvent } from '../../core/chat/protocol.ts';
import { ChatRoom, type ChatReport, type ChatRoomEvent } from '../../stream-processors/simulator/chatters.ts';
import { CollectorDeliveryError, playSimulation } from '../../stream-processors/simulator/traffic-player.ts';
import { SeededRandom } from '../../stream-processors/simulator/seeded-random.ts';
import { planSimulation, STEP_MS, type SimulationPlan } from '../../stream-processors/simulator/viewer-scripts.ts';
import { aggregatesMessageValidator } from '../../core/analytics/aggregate-messages.ts';
import type { Subscription } from '../../core/bus/bus.ts';
import { CommandUsageError } from '../../core/command-usage-error.ts';
import { logDevelopmentCredentials } from './development-credentials.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { mintApiToken } from '../../core/http/api-auth.ts';
import { ivsEventBridgeEvent, type IvsBroadcastTransition } from '../../core/ivs/eventbridge-events.ts';
import { startPlatform, type RunningPlatform } from '../../core/platform.ts';
import { clipEventValidator, highlightValidator, type ClipEvent, type Highlight } from '../../core/schemas/highlight.ts';
import { SERVICES } from '../services.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { TOPICS } from '../../core/topics.ts';

/** The demo stream's owner in the stream registry (core/streams/). */
const DEMO_CREATOR = 'demo-creator';

/**
 * `livepulse demo`: the whole platform in one process (the `start` path), plus what a newcomer
 * needs to see it work: a synthetic live broadcast recorded in IVS's layout, simulated viewers
 * arriving in waves, simulated chatters (chat, questions, spam, abuse, hype spikes) with a
 * moderator and a host, and progress lines in the terminal. It drives the platform only through
 * its public surfaces (the collector, IVS events, socket.io chat) and watches the documented
 * topics (`analytics.aggregates`, `highlights`, `clips`) and the host's socket (`prompt`) to report progress.
 */
/** `livepulse demo`'s options as the command line gives them (app/cli/program.ts). */
export interface DemoOptions {
  duration?: string;
  viewers: string;
  chatters: string;
  seed?: string;
  /** Comma-separated rendition names, e.g. `720p30,360p30`. */
  renditions: string;
}

export class DemoUsageError extends CommandUsageError {
  constructor(problem: string) {
    super(problem);
    this.name = 'DemoUsageError';
  }
}

/** The highlight detector needs a minute of chat baseline; the first spike comes just after it. */
export const FIRST_HYPE_SPIKE_MS = 65_000;
const HYPE_SPIKE_EVERY_MS = 150_000;
/** Audience and chat are planned in rounds, so a demo without --duration runs on. */
export const ROUND_MS = 300_000;
/** A new wave of viewers every 150 s: each round's audience thins out after its first minutes. */
const AUDIENCE_ROUND_EVERY_MS = 150_000;
const STATUS_EVERY_MS = 5_000;
/** IVS's recordings use segments of a few seconds; each is probed for keyframes when the recording is finalised. */
const SEGMENT_SECONDS = 4;

export interface DemoAudienceOptions {
  streamId: string;
  creatorId: string;
  /** Epoch ms; rounded up to a whole 10 s. */
  startAt: number;
  durationMs: number;
  viewers: number;
  seed: number;
}

/**
 * The viewers of one live stream: a scripted simulation (startup, rebuffering, quality switches,
 * failures, leaves, returns) moved onto the demo's stream, with arrivals brought forward the way
 * a go-live notification brings them: each viewer's first view at step `s` moves to `⌊s·u²⌋`
 * (u uniform), so about half the audience is in within the first quarter of the span and the
 * rest trickles in. Every event moves by whole 5 s steps, keeping each view on its 5 s grid.
 */
export function planDemoAudience(options: DemoAudienceOptions): SimulationPlan {
  const plan = planSimulation({ viewers: options.viewers, durationMs: options.durationMs, seed: options.seed, startAt: options.startAt, streams: 1 });
  const random = new SeededRandom(options.seed);
  const shiftOf = new Map<string, number>();
  const views = plan.views.map((view) => {
    let shift = shiftOf.get(view.viewerId);
    if (shift === undefined) {
      const step = Math.floor((view.events[0]!.at - plan.startAt) / STEP_MS);
      const u = random.next();
      shift = (Math.floor(step * u * u) - step) * STEP_MS;
      shiftOf.set(view.viewerId, shift);
    }
    const by = shift;
    return {
      ...view,
      streamId: options.streamId,
      creatorId: options.creatorId,
      events: view.events.map(({ at, event }) => ({ at: at + by, event: { ...event, viewer_time: event.viewer_time + by, stream_id: options.streamId, creator_id: options.creatorId } })),
    };
  });
  return { ...plan, views };
}

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

interface DemoArgs {
  durationMs: number | undefined;
  viewers: number;
  chatters: number;
  seed: number;
  renditions: string;
}

function demoArgs(values: DemoOptions): DemoArgs {
  const positive = (name: string, value: string | undefined, min = 1): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new DemoUsageError(`--${name} must be an integer of at least ${min}`);
    return parsed;
  };
  return {
    durationMs: values.duration === undefined ? undefined : positive('duration', values.duration, 30) * 1_000,
    viewers: positive('viewers', values.viewers, 10),
    chatters: positive('chatters', values.chatters, 10),
    seed: values.seed === undefined ? Date.now() % 1_000_000 : positive('seed', values.seed),
    renditions: values.renditions,
  };
}

/** Checks `livepulse demo`'s options and runs it; resolves to the process exit code. */
export async function runDemoCommand(options: DemoOptions): Promise<number> {
  const args = demoArgs(options);
  const config = loadConfig();
  if (!config.auth.jwtSecret) {
    process.stderr.write('livepulse demo: chat and API tokens are minted with LIVEPULSE_JWT_SECRET, which is not set (a JWKS URL alone cannot sign)\n');
    return 2;
  }
  const renditions = args.renditions.split(',').map((name) => renditionFromName(name.trim()));
  return new Demo(config, config.auth.jwtSecret, args, renditions).run();
}

const print = (line: string) => process.stdout.write(`${line}\n`);

class Demo {
  private readonly stop = new AbortController();
  private readonly viewerCounts = new ViewerCounts();
  private readonly streamId = `st-${ivsStyleId()}`;
  private readonly runId = randomBytes(3).toString('hex');
  private readonly startedAt = Date.now();
  private readonly seenHighlights = new Set<string>();
  private readonly seenClips = new Set<string>();
  private readonly seenPrompts = new Set<string>();
  private platform!: RunningPlatform;
  private room!: ChatRoom;
  /** A development `analyst` API token for the live board and clip files. */
  private boardToken = '';

  constructor(
    private readonly config: Config,
    private readonly jwtSecret: string,
    private readonly args: DemoArgs,
    private readonly renditions: ReturnType<typeof renditionFromName>[],
  ) {}

  private say(line: string): void {
    print(`[${elapsed(Date.now() - this.startedAt)}] ${line}`);
  }

  async run(): Promise<number> {
    const { config, args } = this;
    mkdirSync(config.dataDir, { recursive: true });
    const logFile = join(config.dataDir, 'demo.log');
    // The terminal is for progress lines; the services' JSON logs go to a file.
    const logger = pino({ name: 'livepulse', level: config.logLevel, base: { pid: process.pid } }, pino.destination({ dest: logFile, sync: false }));
    print(`Livepulse demo: starting every service (${config.mode} mode); logs in ${relative(process.cwd(), logFile) || logFile}`);
    this.platform = await startPlatform(config, SERVICES, logger);
    const { url } = this.platform;
    await logDevelopmentCredentials(config, logger, { url, liveBoard: true });

    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) process.exit(130);
      this.say(`${signal}: stopping (Ctrl-C again to quit at once)`);
      this.stop.abort();
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));

    const subscriptions: Subscription[] = [];
    try {
      subscriptions.push(...(await this.watchTopics()));
      this.room = await ChatRoom.open({ url, streamId: this.streamId, jwtSecret: this.jwtSecret, runId: this.runId, seed: args.seed, onEvent: (event) => this.onChatEvent(event) });
      this.boardToken = await mintApiToken({ secret: this.jwtSecret, sub: 'demo-viewer', role: 'analyst', ttlSeconds: 12 * 3_600 });
      // The synthetic channel has no IVS control plane to carry an owner tag: the operator registers the stream, as an admin would.
      const registry = new StreamRegistry(this.platform.context.analytics, this.platform.context.liveState);
      await registry.register({ source: 'api', streamId: this.streamId, creatorId: DEMO_CREATOR, identity: { userId: 'demo-operator', role: 'admin' }, reassign: false });

      const audienceStart = Math.ceil((Date.now() + 2_000) / 10_000) * 10_000;
      print('');
      print(`  platform    ${url}  (health ${url}/readyz, metrics ${url}/metrics, API docs ${url}/docs)`);
      print(`  live board  ${url}/live?token=${this.boardToken}`);
      print(`  stream      ${this.streamId}: a synthetic broadcast (${this.renditions.map((r) => r.name).join(' + ')}), recorded in IVS's layout, registered to ${DEMO_CREATOR}`);
      print(`  viewers     ${args.viewers} simulated per wave, most arriving as the stream goes live; a new wave every ${AUDIENCE_ROUND_EVERY_MS / 1_000} s`);
      print(`  chat        ${args.chatters} simulated chatters, a moderator and the host; first hype spike about ${elapsed(audienceStart + 5_000 + FIRST_HYPE_SPIKE_MS - this.startedAt)} in`);
      print(`  ${args.durationMs === undefined ? 'Ctrl-C to stop.' : `stops after ${Math.round(args.durationMs / 1_000)} s (or Ctrl-C).`}`);
      print('');

      this.stop.signal.addEventListener('abort', () => this.say('stopping: the recording is finalised as IVS would (keyframe-indexed byte-range playlists), then the services stop'), { once: true });
      const durationTimer = args.durationMs === undefined ? undefined : setTimeout(() => this.stop.abort(), Math.max(0, this.startedAt + args.durationMs - Date.now()));
      const statusTimer = setInterval(() => this.say(statusLine(this.tally())), STATUS_EVERY_MS);
      await Promise.all([this.broadcast(), this.audience(audienceStart), this.chat(audienceStart)]);
      clearTimeout(durationTimer);
      clearInterval(statusTimer);
      await this.room.close();
      this.say(`final: ${statusLine(this.tally())}`);
    } finally {
      await Promise.allSettled(subscriptions.map((s) => s.stop()));
      await this.platform.stop();
      logger.flush();
    }
    this.say('stopped');
    return 0;
  }

  private tally(): DemoTally {
    return {
      // The window before the current one: every partition has reported it.
      viewers: this.viewerCounts.at(this.streamId, Date.now() - this.config.analytics.windowMs),
      chat: this.room.report,
      highlights: this.seenHighlights.size,
      clips: this.seenClips.size,
      prompts: this.seenPrompts.size,
    };
  }

  /** The synthetic broadcast, with the IVS state changes EventBridge would send to the collector. */
  private async broadcast(): Promise<void> {
    const { config, platform } = this;
    const post = async (b: SyntheticBroadcast, transitions: IvsBroadcastTransition[], durationMs = 0) => {
      const broadcast = {
        region: b.region,
        accountId: b.accountId,
        channelId: b.channelId,
        channelName: b.channelId,
        streamId: b.streamId,
        recordingPrefix: b.prefix,
        recordingSessionId: b.recordingId,
        bucket: config.objectStore.kind === 's3' ? config.objectStore.bucket : 'local',
      };
      const response = await fetch(new URL('/v1/ivs/events', platform.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: config.auth.ivsWebhookSecret },
        body: JSON.stringify(transitions.map((t) => ivsEventBridgeEvent(broadcast, t, new Date(), durationMs))),
      });
      if (!response.ok) this.say(`the collector refused IVS events (${response.status}): ${await response.text()}`);
    };
    let firstSegment = true;
    try {
      const recording = await runSyntheticStream({
        objectStore: platform.context.objectStore,
        ffmpeg: new FluentFfmpeg({ ffmpegPath: config.clips.ffmpegPath, ffprobePath: config.clips.ffprobePath }),
        region: config.ivs.region,
        accountId: '000000000000',
        channelId: 'LivepulseDemo',
        streamId: this.streamId,
        durationSeconds: (this.args.durationMs ?? 12 * 3_600_000) / 1_000 + 60,
        segmentSeconds: SEGMENT_SECONDS,
        renditions: this.renditions,
        realtime: true,
        signal: this.stop.signal,
        onEvent: async (event) => {
          if (event.kind === 'recording_start') await post(event.broadcast, ['Stream Start', 'Recording Start']);
          else if (event.kind === 'segment' && firstSegment) {
            firstSegment = false;
            this.say(`stream ${this.streamId} is live, recording under ${event.broadcast.prefix}`);
          } else if (event.kind === 'recording_end') await post(event.broadcast, ['Recording End', 'Stream End'], event.durationMs);
        },
      });
      this.say(`stream ended: ${Math.round(recording.durationMs / 1_000)} s recorded`);
    } catch (error) {
      this.say(`the synthetic stream failed, so no clips can be cut: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Simulated viewers, in overlapping rounds, each a wave of arrivals. */
  private async audience(startAt: number): Promise<void> {
    const writeKey = this.config.auth.writeKeys[0]!.key;
    const rounds: Array<Promise<void>> = [];
    for (let round = 0; !this.stop.signal.aborted; round++) {
      const roundStart = startAt + round * AUDIENCE_ROUND_EVERY_MS;
      if (this.args.durationMs !== undefined && roundStart >= this.startedAt + this.args.durationMs) break;
      // Planned for a whole round even near the end of a --duration run, so the audience does not thin out before the stop.
      const plan = planDemoAudience({ streamId: this.streamId, creatorId: DEMO_CREATOR, startAt: roundStart, durationMs: ROUND_MS, viewers: this.args.viewers, seed: this.args.seed * 100 + round });
      rounds.push(
        playSimulation(plan, { collectorUrl: this.platform.url, writeKey, signal: this.stop.signal }).then(
          () => undefined,
          (error: unknown) => {
            if (!(error instanceof CollectorDeliveryError && this.stop.signal.aborted)) this.say(`viewer simulation failed: ${error instanceof Error ? error.message : String(error)}`);
          },
        ),
      );
      // Rounds overlap, so the audience never empties.
      if (!(await this.sleepUntil(roundStart + AUDIENCE_ROUND_EVERY_MS))) break;
    }
    await Promise.all(rounds);
  }

  /**
   * Chat starts once the stream has a viewer count: the highlight detector normalises chat by
   * viewers, and a count arriving after chat began would restart its baseline.
   */
  private async chat(audienceStart: number): Promise<void> {
    const firstCountBy = audienceStart + 30_000;
    while (this.viewerCounts.at(this.streamId, Date.now()) === undefined && Date.now() < firstCountBy) {
      if (!(await this.sleepUntil(Date.now() + 250))) return;
    }
    const chatStart = Math.max(Date.now() + 1_000, audienceStart + 5_000);
    this.say(`chat opens; the first hype spike comes at ${elapsed(chatStart + FIRST_HYPE_SPIKE_MS - this.startedAt)}, then every ${HYPE_SPIKE_EVERY_MS / 1_000} s`);
    const rounds: Array<Promise<void>> = [];
    for (let round = 0; !this.stop.signal.aborted; round++) {
      const roundStart = chatStart + round * ROUND_MS;
      const remaining = this.args.durationMs === undefined ? ROUND_MS : this.startedAt + this.args.durationMs - roundStart;
      if (remaining <= 0) break;
      const durationMs = Math.min(ROUND_MS, remaining);
      const script = planChatScript({
        chatters: this.args.chatters,
        durationMs,
        seed: this.args.seed * 100 + round,
        runId: `${this.runId}r${round}`,
        hypeSpikesAtMs: hypeSpikeTimes(durationMs, { firstAtMs: FIRST_HYPE_SPIKE_MS, everyMs: HYPE_SPIKE_EVERY_MS }),
      });
      rounds.push(
        this.room.play(script, roundStart, this.stop.signal).catch((error: unknown) => this.say(`chatters stopped: ${error instanceof Error ? error.message : String(error)}`)),
      );
      // The next round's chatters connect a few seconds before it starts.
      if (!(await this.sleepUntil(roundStart + ROUND_MS - 5_000))) break;
    }
    await Promise.all(rounds);
  }

  private onChatEvent(event: ChatRoomEvent): void {
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
    const askers = prompt.askers.length > 0 ? `, asked by ${prompt.askers.slice(0, 3).join(', ')}${prompt.askers.length > 3 ? '…' : ''}` : '';
    this.say(`host prompt (priority ${prompt.priority}${askers}): ${prompt.prompt}`);
  }

  private noteHighlight(highlight: Highlight): void {
    if (highlight.stream_id !== this.streamId || this.seenHighlights.has(highlight.highlight_id)) return;
    this.seenHighlights.add(highlight.highlight_id);
    const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
    this.say(`highlight ${clock(highlight.start)}–${clock(highlight.end)} UTC: ${highlight.reasons.join('; ') || 'requested by the host'}`);
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
    const status = `${this.platform.url}/v1/clips/${clip.clip_id}`;
    // The live board serves clip files (with byte ranges, so a browser can play and seek); without it, the status has the object keys.
    const playable = this.platform.context.http.hasRoute({ method: 'GET', url: '/v1/clips/:clipId/files/:name' }) ? ` · play ${status}/files/mp4?token=${this.boardToken}` : '';
    this.say(`clip ready (${Math.round((clip.duration_ms ?? clip.end - clip.start) / 1_000)} s): ${status}?token=${this.boardToken}${playable}`);
  }

  /** Viewer counts, highlights and clips from the documented topics, each read by a consumer group of the demo's own from the latest offset. */
  private async watchTopics(): Promise<Subscription[]> {
    const { bus } = this.platform.context;
    const group = (name: string) => `demo.${name}.${this.runId}`;
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
          handleBatch: async (batch) => {
            for (const message of batch.messages) watch.each(parse(message.value));
          },
        }),
      );
    }
    return subscriptions;
  }

  /** Resolves true at `at`, false as soon as the demo stops. */
  private sleepUntil(at: number): Promise<boolean> {
    const signal = this.stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(true), Math.max(0, at - Date.now()));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
