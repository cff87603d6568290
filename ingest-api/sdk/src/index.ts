import { BeaconQueue } from './beacon-queue.ts';
import { environment, persistentViewerId, uuid, type MediaElement } from './browser.ts';
import { VideoTracker } from './video-tracker.ts';

/**
 * Livepulse browser SDK: `watchVideo(video, {endpoint, writeKey, streamId})` reports what a
 * <video> element does to the Livepulse collector. Works with any player that renders into a
 * video element (hls.js, video.js, Shaka, native HLS).
 */
export const SDK_VERSION = '1.0.0';

export interface WatchOptions {
  /** Collector base URL, e.g. https://collect.example.com */
  endpoint: string;
  /** The property's write key (sent as ?key=, since sendBeacon cannot set headers). */
  writeKey: string;
  streamId: string;
  /** Anonymous viewer id; by default a random id kept in localStorage. */
  viewerId?: string;
  creatorId?: string;
  isLive?: boolean;
  playerName?: string;
  playerVersion?: string;
  /** Sent with every event: cdn, custom_1 … custom_5 (see PlayerEvent). */
  dimensions?: Record<string, string | number>;
  /** Defaults 10 000 ms, as Mux. */
  heartbeatIntervalMs?: number;
  flushIntervalMs?: number;
}

export interface Watcher {
  /** For player errors that do not reach the media element, e.g. hls.js fatal errors. */
  reportError(code: string, message?: string, fatal?: boolean): void;
  /** Ends the view, sends what is queued and stops watching. */
  destroy(): void;
}

/** One page session: ties the views of this page load together. */
const sessionId = uuid();

export function watchVideo(video: MediaElement, options: WatchOptions): Watcher {
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/events?key=${encodeURIComponent(options.writeKey)}`;
  const queue = new BeaconQueue({
    url,
    sdk: `livepulse-js/${SDK_VERSION}`,
    flushIntervalMs: options.flushIntervalMs ?? 10_000,
    maxBatch: 300,
    maxQueued: 3_600,
  });
  const tracker = new VideoTracker(video, queue, {
    streamId: options.streamId,
    viewerId: options.viewerId ?? persistentViewerId(),
    sessionId,
    creatorId: options.creatorId,
    isLive: options.isLive,
    playerName: options.playerName,
    playerVersion: options.playerVersion,
    dimensions: options.dimensions,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
  });

  const onPageHide = () => {
    queue.beginExit();
    tracker.endView();
    queue.flushOnExit();
  };
  const onVisibility = () => {
    if (environment.document?.visibilityState === 'hidden') {
      queue.beginExit();
      tracker.pageHidden();
      queue.flushOnExit();
    }
  };
  environment.addEventListener?.('pagehide', onPageHide);
  environment.document?.addEventListener('visibilitychange', onVisibility);

  return {
    reportError: (code, message, fatal) => tracker.reportError(code, message, fatal),
    destroy() {
      tracker.destroy();
      queue.flush();
      environment.removeEventListener?.('pagehide', onPageHide);
      environment.document?.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
