import { CommandUsageError } from '../../core/command-usage-error.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import {
  ivsEventBridgeEvent,
  type IvsBroadcast,
  type IvsBroadcastTransition,
} from '../../core/ivs/eventbridge-events.ts';
import { createObjectStore } from '../../core/object-store/create-object-store.ts';
import { IVS_SECRET_HEADER } from '../../ingest-api/ivs/ivs-route.ts';
import { FfmpegRunner } from '../../clip-worker/ffmpeg/ffmpeg.ts';
import {
  ivsStyleId,
  runSyntheticStream,
  type SyntheticBroadcast,
  type SyntheticRendition,
} from './synthetic-stream.ts';

/**
 * `livepulse live-stream`: a synthetic broadcast recorded into the configured object store in
 * IVS's layout, live (at realtime), with the IVS state changes an EventBridge rule would send
 * posted to the collector, so the clip worker can find the recording. Ctrl-C ends the broadcast
 * early; what was recorded is finalised as IVS would.
 */
/** `livepulse live-stream`'s options as the command line gives them (app/cli/program.ts). */
export interface LiveStreamOptions {
  channel: string;
  account: string;
  streamId?: string;
  duration: string;
  /** Comma-separated rendition names, e.g. `720p30,360p30`. */
  renditions: string;
  segment: string;
  collector?: string;
}

/** `720p30` → 1280×720 at 30 fps; IVS's `160p30` is 284 wide. */
export function renditionFromName(name: string): SyntheticRendition {
  const match = /^(\d{2,4})p(\d{2})$/.exec(name);
  if (!match) throw new CommandUsageError(`rendition "${name}" is not <height>p<fps>, e.g. 720p30`);
  const height = Number(match[1]);
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const videoKbps = Math.max(200, Math.round((width * height * 2.6) / 1000));
  return { name, width, height, videoKbps };
}

/**
 * Posts to a collector the IVS state changes an EventBridge rule would send for a synthetic
 * broadcast; resolves to the collector's refusal, or null when it took them.
 */
export async function postIvsTransitions(
  collector: string,
  config: Pick<Config, 'auth' | 'objectStore'>,
  b: SyntheticBroadcast,
  transitions: IvsBroadcastTransition[],
  durationMs = 0,
): Promise<{ status: number; body: string } | null> {
  const broadcast: IvsBroadcast = {
    region: b.region,
    accountId: b.accountId,
    channelId: b.channelId,
    channelName: b.channelId,
    streamId: b.streamId,
    recordingPrefix: b.prefix,
    recordingSessionId: b.recordingId,
    bucket: config.objectStore.kind === 's3' ? config.objectStore.bucket : 'local',
  };
  const response = await fetch(new URL('/v1/ivs/events', collector), {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: config.auth.ivsWebhookSecret },
    body: JSON.stringify(transitions.map((t) => ivsEventBridgeEvent(broadcast, t, new Date(), durationMs))),
  });
  return response.ok ? null : { status: response.status, body: await response.text() };
}

export async function runLiveStreamCommand(values: LiveStreamOptions): Promise<number> {
  const config = loadConfig();
  const renditions = values.renditions.split(',').map((name) => renditionFromName(name.trim()));
  const durationSeconds = Number(values.duration);
  const segmentSeconds = Number(values.segment);
  if (!(durationSeconds > 0) || !(segmentSeconds > 0))
    throw new CommandUsageError('--duration and --segment must be positive numbers of seconds');
  const objectStore = createObjectStore(config.objectStore);
  const ffmpeg = new FfmpegRunner({ ffmpegPath: config.clips.ffmpegPath, ffprobePath: config.clips.ffprobePath });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort(new Error('the broadcaster stopped (SIGINT)')));
  process.once('SIGTERM', () => stop.abort(new Error('the broadcaster stopped (SIGTERM)')));

  const streamId = values.streamId ?? `st-${ivsStyleId()}`;
  const post = async (broadcast: SyntheticBroadcast, transitions: IvsBroadcastTransition[], durationMs = 0) => {
    if (!values.collector) return;
    const refusal = await postIvsTransitions(values.collector, config, broadcast, transitions, durationMs);
    if (refusal) process.stderr.write(`collector answered ${refusal.status}: ${refusal.body}\n`);
  };

  try {
    const recording = await runSyntheticStream({
      objectStore,
      ffmpeg,
      region: config.ivs.region,
      accountId: values.account,
      channelId: values.channel,
      streamId,
      durationSeconds,
      segmentSeconds,
      renditions,
      realtime: true,
      signal: stop.signal,
      onEvent: async (event) => {
        if (event.kind === 'recording_start') {
          process.stdout.write(`live: stream ${event.broadcast.streamId} recording to ${event.broadcast.prefix}\n`);
          await post(event.broadcast, ['Stream Start', 'Recording Start']);
        } else if (event.kind === 'segment') {
          process.stdout.write(
            `segment ${event.rendition}/${event.segment.uri} at ${new Date(event.segment.programDateTimeMs!).toISOString()}\n`,
          );
        } else {
          await post(event.broadcast, ['Recording End', 'Stream End'], event.durationMs);
        }
      },
    });
    process.stdout.write(`ended: ${Math.round(recording.durationMs / 1000)} s recorded under ${recording.prefix}\n`);
    return 0;
  } finally {
    await objectStore.close();
  }
}
