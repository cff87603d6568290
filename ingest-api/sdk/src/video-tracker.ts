import { uuid, type MediaElement } from './browser.ts';
import type { BeaconQueue, QueuedEvent } from './beacon-queue.ts';

/**
 * Watches one media element and reports Mux-style events with cumulative counters (Livepulse's
 * PlayerEvent). Everything comes from the standard media events, so any player that renders
 * into a <video> is covered. Counters follow Mux's definitions: watch time is startup +
 * playing + rebuffering + seeking (paused excluded), rebuffers after a seek count as seeking,
 * startup time runs from the play request to the first frame.
 */
export interface TrackerOptions {
  streamId: string;
  viewerId: string;
  sessionId: string;
  creatorId?: string;
  isLive?: boolean;
  playerName?: string;
  playerVersion?: string;
  /** Extra dimensions sent with every event (cdn, custom_1…custom_5). */
  dimensions?: Record<string, string | number>;
  heartbeatIntervalMs: number;
}

type State = 'idle' | 'starting' | 'playing' | 'paused' | 'seeking' | 'rebuffering' | 'ended' | 'error';
/** Player states as PlayerEvent spells them (CMCD's sta). */
const STATE_NAMES: Record<State, string> = {
  idle: 'preloading',
  starting: 'starting',
  playing: 'playing',
  paused: 'paused',
  seeking: 'seeking',
  rebuffering: 'rebuffering',
  ended: 'ended',
  error: 'fatal_error',
};
/** Events that are sent at once rather than with the next batch. */
const URGENT = ['viewstart', 'error', 'ended', 'viewend'];

export class VideoTracker {
  private state: State = 'idle';
  private viewId = uuid();
  private viewSeq = 0;
  private viewStarted = false;
  private viewEnded = false;
  private playRequestedAt = 0;
  private lastTick = performance.now();
  private lastPlayhead = 0;
  private heartbeat: ReturnType<typeof setTimeout> | undefined;
  private sourceSize = '';
  private readonly counters = {
    watch_ms: 0,
    playing_ms: 0,
    rebuffer_count: 0,
    rebuffer_ms: 0,
    seek_count: 0,
    seek_ms: 0,
    upscale_weighted_ms: 0,
    downscale_weighted_ms: 0,
    max_upscale_pct: 0,
  } as Record<string, number>;
  private readonly listeners: Record<string, () => void>;

  constructor(
    private readonly video: MediaElement,
    private readonly queue: BeaconQueue,
    private readonly options: TrackerOptions,
  ) {
    const v = video;
    this.listeners = {
      play: () => this.onPlay(),
      playing: () => this.onPlaying(),
      pause: () => {
        if (!v.ended && this.viewStarted) this.moveTo('paused', 'pause');
      },
      seeking: () => this.onSeeking(),
      seeked: () => {
        if (this.state === 'seeking') this.moveTo(v.paused ? 'paused' : 'playing', 'seeked');
      },
      waiting: () => {
        if (this.state === 'playing') {
          this.counters.rebuffer_count!++;
          this.moveTo('rebuffering', 'rebufferstart');
        }
      },
      timeupdate: () => {
        // Some browsers resume after a stall without a `playing` event: progress ends the rebuffer.
        if (this.state === 'rebuffering' && v.currentTime > this.lastPlayhead) this.onPlaying();
        else this.tick();
      },
      ended: () => this.moveTo('ended', 'ended'),
      error: () => this.reportError(`MEDIA_ERR_${v.error?.code ?? 0}`, v.error?.message, true),
      resize: () => this.onResize(),
    };
    for (const [type, listener] of Object.entries(this.listeners)) video.addEventListener(type, listener);
    // A player created with autoplay may already be running when the SDK attaches.
    if (!video.paused) {
      this.onPlay();
      if (video.currentTime > 0) this.onPlaying();
    } else this.emit('playerready');
  }

  /** Player errors that never reach the media element (e.g. hls.js fatal network errors). */
  reportError(code: string, message?: string, fatal = true): void {
    if (!this.viewStarted) this.startView();
    this.tick();
    if (fatal) this.state = 'error';
    this.emit('error', {
      code: code.slice(0, 64),
      message: message?.slice(0, 1024),
      severity: fatal ? 'fatal' : 'warning',
    });
  }

  /** Page hidden: a heartbeat now (Mux does the same), so the numbers are current if the page never comes back. */
  pageHidden(): void {
    if (this.viewStarted && !this.viewEnded) this.emit('heartbeat');
  }

  /** Ends the view (pagehide, player destroyed). */
  endView(): void {
    if (!this.viewStarted || this.viewEnded) return;
    this.tick();
    this.emit('viewend');
    this.viewEnded = true;
    clearTimeout(this.heartbeat);
  }

  destroy(): void {
    this.endView();
    clearTimeout(this.heartbeat);
    for (const [type, listener] of Object.entries(this.listeners)) this.video.removeEventListener(type, listener);
  }

  private onPlay(): void {
    if (this.viewEnded) this.newView();
    if (!this.viewStarted) {
      this.startView();
      this.moveTo('starting', 'play');
    } else if (this.state === 'paused' || this.state === 'ended') this.moveTo('starting', 'play');
  }

  private onPlaying(): void {
    if (!this.viewStarted) this.startView();
    if (this.state === 'rebuffering') this.moveTo('playing', 'rebufferend');
    else if (this.state === 'seeking') this.moveTo('playing', 'seeked');
    if (this.counters.ttff_ms === undefined)
      this.counters.ttff_ms = Math.round(performance.now() - this.playRequestedAt);
    this.moveTo('playing', 'playing');
  }

  private onSeeking(): void {
    // Players seek to the start position before the first frame (hls.js does): that is startup, not a viewer's seek.
    if (!this.viewStarted || this.state === 'seeking' || this.counters.ttff_ms === undefined) return;
    this.counters.seek_count!++;
    this.moveTo('seeking', 'seeking');
  }

  private onResize(): void {
    const size = `${this.video.videoWidth}x${this.video.videoHeight}`;
    if (size === this.sourceSize || this.video.videoWidth === 0) return;
    const first = this.sourceSize === '';
    this.sourceSize = size;
    if (!first && this.viewStarted) {
      this.tick();
      this.emit('renditionchange');
    }
  }

  private startView(): void {
    this.viewStarted = true;
    this.playRequestedAt = performance.now();
    this.lastTick = this.playRequestedAt;
    this.emit('viewstart');
  }

  /** After a view ended (page restored from the back-forward cache, or replayed after destroy), playing again is a new view. */
  private newView(): void {
    this.viewId = uuid();
    this.viewSeq = 0;
    this.viewStarted = false;
    this.viewEnded = false;
    for (const key of Object.keys(this.counters)) this.counters[key] = 0;
    delete this.counters.ttff_ms;
  }

  private moveTo(state: State, event: string): void {
    this.tick();
    this.state = state;
    this.emit(event);
  }

  /** Charges the time since the last tick to the state the player was in. */
  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    const c = this.counters;
    const playhead = this.video.currentTime;
    if (
      this.state === 'starting' ||
      this.state === 'playing' ||
      this.state === 'rebuffering' ||
      this.state === 'seeking'
    )
      c.watch_ms! += elapsed;
    if (this.state === 'playing') {
      c.playing_ms! += elapsed;
      const progressed = (playhead - this.lastPlayhead) * 1000;
      const { clientWidth: pw, clientHeight: ph, videoWidth: sw, videoHeight: sh } = this.video;
      if (progressed > 0 && progressed < 60_000 && sw > 0 && sh > 0 && pw > 0 && ph > 0) {
        const upscale = Math.max(0, Math.min(pw / sw, ph / sh) - 1);
        c.upscale_weighted_ms! += upscale * progressed;
        c.downscale_weighted_ms! += Math.max(0, 1 - Math.max(pw / sw, ph / sh)) * progressed;
        c.max_upscale_pct = Math.max(c.max_upscale_pct!, upscale * 100);
      }
    }
    if (this.state === 'rebuffering') c.rebuffer_ms! += elapsed;
    if (this.state === 'seeking') c.seek_ms! += elapsed;
    this.lastPlayhead = playhead;
  }

  private emit(type: string, error?: Record<string, unknown>): void {
    if (this.viewEnded) return;
    const v = this.video;
    const o = this.options;
    const counters: Record<string, number> = {};
    for (const [key, value] of Object.entries(this.counters))
      counters[key] = key === 'max_upscale_pct' ? Math.round(value * 100) / 100 : Math.round(value);
    const dropped = v.getVideoPlaybackQuality?.().droppedVideoFrames;
    if (dropped !== undefined) counters.dropped_frames = dropped;
    const dimensions: Record<string, unknown> = {
      ...o.dimensions,
      player_name: o.playerName,
      player_version: o.playerVersion,
    };
    if (v.clientWidth > 0)
      Object.assign(dimensions, {
        player_width: Math.min(v.clientWidth, 16_384),
        player_height: Math.min(v.clientHeight, 16_384),
      });
    if (v.videoWidth > 0)
      Object.assign(dimensions, {
        source_width: v.videoWidth,
        source_height: v.videoHeight,
        rendition: `${v.videoHeight}p`,
      });
    const event: QueuedEvent = {
      schema_v: 1,
      event_id: uuid(),
      event: type,
      view_id: this.viewId,
      view_seq: this.viewSeq++,
      viewer_id: o.viewerId,
      session_id: o.sessionId,
      stream_id: o.streamId,
      creator_id: o.creatorId,
      is_live: o.isLive,
      viewer_time: Date.now(),
      playhead_ms: Number.isFinite(v.currentTime) ? Math.round(v.currentTime * 1000) : undefined,
      player_state: STATE_NAMES[this.state],
      counters,
      dimensions,
      error,
    };
    this.queue.push(event, URGENT.includes(type) && (type !== 'error' || error?.severity === 'fatal'));
    this.armHeartbeat();
  }

  /** A heartbeat 10 s after the last event while the view is active (mux-embed's rule). */
  private armHeartbeat(): void {
    clearTimeout(this.heartbeat);
    if (
      this.state === 'paused' ||
      this.state === 'idle' ||
      this.state === 'ended' ||
      this.state === 'error' ||
      this.viewEnded
    )
      return;
    this.heartbeat = setTimeout(() => {
      this.tick();
      this.emit('heartbeat');
    }, this.options.heartbeatIntervalMs);
  }
}
