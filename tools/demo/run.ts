import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import type { Subscription } from '../../core/bus/bus.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { mintApiToken } from '../../core/http/api-auth.ts';
import type { IvsBroadcastTransition } from '../../core/ivs/eventbridge-events.ts';
import type { Logger } from '../../core/logger.ts';
import { startPlatform, type RunningPlatform, type ServiceDefinition } from '../../core/platform.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { FfmpegRunner } from '../../clip-worker/ffmpeg/ffmpeg.ts';
import { postIvsTransitions, renditionFromName } from '../live-stream/live-stream-command.ts';
import { ivsStyleId, runSyntheticStream, type SyntheticBroadcast } from '../live-stream/synthetic-stream.ts';
import { hypeSpikeTimes, planChatScript } from '../simulator/chat-scripts.ts';
import { ChatRoom } from '../simulator/chatters.ts';
import { sleepUntil } from '../simulator/sleep-until.ts';
import { CollectorDeliveryError, playSimulation } from '../simulator/traffic-player.ts';
import {
  AUDIENCE_ROUND_EVERY_MS,
  DEMO_CREATOR,
  demoArgs,
  FIRST_HYPE_SPIKE_MS,
  HYPE_SPIKE_EVERY_MS,
  planDemoAudience,
  ROUND_MS,
  SEGMENT_SECONDS,
  type DemoArgs,
  type DemoOptions,
} from './plan.ts';
import { DemoProgress, elapsed, STATUS_EVERY_MS, statusLine, type DemoTally } from './progress.ts';

/**
 * `livepulse demo`: the whole platform in one process (the `start` path), plus what a newcomer
 * needs to see it work: a synthetic live broadcast recorded in IVS's layout, simulated viewers
 * arriving in waves, simulated chatters (chat, questions, spam, abuse, hype spikes) with a
 * moderator and a host, and progress lines in the terminal. It drives the platform only through
 * its public surfaces (the collector, IVS events, socket.io chat) and watches the documented
 * topics (`analytics.aggregates`, `highlights`, `clips`) and the host's socket (`prompt`) to report progress.
 */
/** What the demo runs, given by the CLI (app/), which composes the services. */
export interface DemoComposition {
  services: ServiceDefinition[];
  /** Prints the development credentials banner (app/cli/development-credentials.ts). */
  logDevelopmentCredentials: (
    config: Config,
    logger: Logger,
    where: { url: string; liveBoard: boolean },
  ) => Promise<void>;
}

/** Checks `livepulse demo`'s options and runs it; resolves to the process exit code. */
export async function runDemoCommand(options: DemoOptions, composition: DemoComposition): Promise<number> {
  const args = demoArgs(options);
  const config = loadConfig();
  if (!config.auth.jwtSecret) {
    process.stderr.write(
      'livepulse demo: chat and API tokens are minted with LIVEPULSE_JWT_SECRET, which is not set (a JWKS URL alone cannot sign)\n',
    );
    return 2;
  }
  const renditions = args.renditions.split(',').map((name) => renditionFromName(name.trim()));
  return new Demo(config, config.auth.jwtSecret, args, renditions, composition).run();
}

const print = (line: string) => process.stdout.write(`${line}\n`);

class Demo {
  private readonly stop = new AbortController();
  private readonly streamId = `st-${ivsStyleId()}`;
  private readonly runId = randomBytes(3).toString('hex');
  private readonly startedAt = Date.now();
  private readonly progress = new DemoProgress(this.streamId, this.startedAt);
  private readonly viewerCounts = this.progress.viewerCounts;
  private platform!: RunningPlatform;
  private room!: ChatRoom;

  constructor(
    private readonly config: Config,
    private readonly jwtSecret: string,
    private readonly args: DemoArgs,
    private readonly renditions: ReturnType<typeof renditionFromName>[],
    private readonly composition: DemoComposition,
  ) {}

  private say(line: string): void {
    this.progress.say(line);
  }

  private tally(): DemoTally {
    return this.progress.tally(this.room.report, this.config.analytics.windowMs);
  }

  async run(): Promise<number> {
    const { config, args } = this;
    mkdirSync(config.dataDir, { recursive: true });
    const logFile = join(config.dataDir, 'demo.log');
    // The terminal is for progress lines; the services' JSON logs go to a file.
    const logger = pino(
      { name: 'livepulse', level: config.logLevel, base: { pid: process.pid } },
      pino.destination({ dest: logFile, sync: false }),
    );
    print(
      `Livepulse demo: starting every service (${config.mode} mode); logs in ${relative(process.cwd(), logFile) || logFile}`,
    );
    this.platform = await startPlatform(config, this.composition.services, logger);
    const { url } = this.platform;
    await this.composition.logDevelopmentCredentials(config, logger, { url, liveBoard: true });

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
      subscriptions.push(...(await this.progress.watchTopics(this.platform.context.bus, this.runId)));
      this.room = await ChatRoom.open({
        url,
        streamId: this.streamId,
        jwtSecret: this.jwtSecret,
        runId: this.runId,
        seed: args.seed,
        onEvent: (event) => this.progress.onChatEvent(event),
      });
      // A development `analyst` API token for the live board and clip files.
      const boardToken = await mintApiToken({
        secret: this.jwtSecret,
        sub: 'demo-viewer',
        role: 'analyst',
        ttlSeconds: 12 * 3_600,
      });
      this.progress.clipLinks = {
        url,
        boardToken,
        servesClipFiles: this.platform.context.http.hasRoute({ method: 'GET', url: '/v1/clips/:clipId/files/:name' }),
      };
      // The synthetic channel has no IVS control plane to carry an owner tag: the operator registers the stream, as an admin would.
      const registry = new StreamRegistry(this.platform.context.analytics, this.platform.context.liveState);
      await registry.register({
        source: 'api',
        streamId: this.streamId,
        creatorId: DEMO_CREATOR,
        identity: { userId: 'demo-operator', role: 'admin' },
        reassign: false,
      });

      const audienceStart = Math.ceil((Date.now() + 2_000) / 10_000) * 10_000;
      print('');
      print(`  platform    ${url}  (health ${url}/readyz, metrics ${url}/metrics, API docs ${url}/docs)`);
      print(`  live board  ${url}/live?token=${boardToken}`);
      print(
        `  stream      ${this.streamId}: a synthetic broadcast (${this.renditions.map((r) => r.name).join(' + ')}), recorded in IVS's layout, registered to ${DEMO_CREATOR}`,
      );
      print(
        `  viewers     ${args.viewers} simulated per wave, most arriving as the stream goes live; a new wave every ${AUDIENCE_ROUND_EVERY_MS / 1_000} s`,
      );
      print(
        `  chat        ${args.chatters} simulated chatters, a moderator and the host; first hype spike about ${elapsed(audienceStart + 5_000 + FIRST_HYPE_SPIKE_MS - this.startedAt)} in`,
      );
      print(
        `  ${args.durationMs === undefined ? 'Ctrl-C to stop.' : `stops after ${Math.round(args.durationMs / 1_000)} s (or Ctrl-C).`}`,
      );
      print('');

      this.stop.signal.addEventListener(
        'abort',
        () =>
          this.say(
            'stopping: the recording is finalised as IVS would (keyframe-indexed byte-range playlists), then the services stop',
          ),
        { once: true },
      );
      const durationTimer =
        args.durationMs === undefined
          ? undefined
          : setTimeout(() => this.stop.abort(), Math.max(0, this.startedAt + args.durationMs - Date.now()));
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

  /** The synthetic broadcast, with the IVS state changes EventBridge would send to the collector. */
  private async broadcast(): Promise<void> {
    const { config, platform } = this;
    const post = async (broadcast: SyntheticBroadcast, transitions: IvsBroadcastTransition[], durationMs = 0) => {
      const refusal = await postIvsTransitions(platform.url, config, broadcast, transitions, durationMs);
      if (refusal) this.say(`the collector refused IVS events (${refusal.status}): ${refusal.body}`);
    };
    let firstSegment = true;
    try {
      const recording = await runSyntheticStream({
        objectStore: platform.context.objectStore,
        ffmpeg: new FfmpegRunner({ ffmpegPath: config.clips.ffmpegPath, ffprobePath: config.clips.ffprobePath }),
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
          } else if (event.kind === 'recording_end')
            await post(event.broadcast, ['Recording End', 'Stream End'], event.durationMs);
        },
      });
      this.say(`stream ended: ${Math.round(recording.durationMs / 1_000)} s recorded`);
    } catch (error) {
      this.say(
        `the synthetic stream failed, so no clips can be cut: ${error instanceof Error ? error.message : String(error)}`,
      );
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
      const plan = planDemoAudience({
        streamId: this.streamId,
        creatorId: DEMO_CREATOR,
        startAt: roundStart,
        durationMs: ROUND_MS,
        viewers: this.args.viewers,
        seed: this.args.seed * 100 + round,
      });
      rounds.push(
        playSimulation(plan, { collectorUrl: this.platform.url, writeKey, signal: this.stop.signal }).then(
          () => undefined,
          (error: unknown) => {
            if (!(error instanceof CollectorDeliveryError && this.stop.signal.aborted))
              this.say(`viewer simulation failed: ${error instanceof Error ? error.message : String(error)}`);
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
    this.say(
      `chat opens; the first hype spike comes at ${elapsed(chatStart + FIRST_HYPE_SPIKE_MS - this.startedAt)}, then every ${HYPE_SPIKE_EVERY_MS / 1_000} s`,
    );
    const rounds: Array<Promise<void>> = [];
    for (let round = 0; !this.stop.signal.aborted; round++) {
      const roundStart = chatStart + round * ROUND_MS;
      const remaining =
        this.args.durationMs === undefined ? ROUND_MS : this.startedAt + this.args.durationMs - roundStart;
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
        this.room
          .play(script, roundStart, this.stop.signal)
          .catch((error: unknown) =>
            this.say(`chatters stopped: ${error instanceof Error ? error.message : String(error)}`),
          ),
      );
      // The next round's chatters connect a few seconds before it starts.
      if (!(await this.sleepUntil(roundStart + ROUND_MS - 5_000))) break;
    }
    await Promise.all(rounds);
  }

  /** Resolves true at `at`, false as soon as the demo stops. */
  private sleepUntil(at: number): Promise<boolean> {
    return sleepUntil(at, this.stop.signal);
  }
}
