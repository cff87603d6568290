import { environment } from './browser.ts';

/**
 * Batches events and delivers them to the collector the way mux-embed does: a flush every
 * 10 s, at most 300 events per request, at once for events that matter now (view start, fatal
 * error, end), `navigator.sendBeacon` when the page goes away, and retries with exponential
 * backoff and jitter when the collector answers 429/5xx or the network fails. One request is
 * in flight at a time, so events arrive in order. Bodies are sent as text/plain: a "simple"
 * request that needs no CORS preflight.
 */
export interface QueueOptions {
  url: string;
  sdk: string;
  flushIntervalMs: number;
  maxBatch: number;
  /** Beyond this many waiting events the oldest heartbeats, then the oldest events, are dropped. */
  maxQueued: number;
}

export interface QueuedEvent {
  event: string;
  [field: string]: unknown;
}

/** sendBeacon and keepalive fetches are limited to 64 KB in flight; stay under it. */
const KEEPALIVE_BYTES = 60_000;
const MAX_BACKOFF_MS = 60_000;

export class BeaconQueue {
  private queue: QueuedEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private sending = false;
  private failures = 0;
  private retryAt = 0;
  private retryAfterMs = 0;
  private rttMs: number | undefined;
  private exiting = false;

  constructor(private readonly options: QueueOptions) {}

  push(event: QueuedEvent, urgent: boolean): void {
    this.queue.push(event);
    if (this.queue.length > this.options.maxQueued) {
      const heartbeat = this.queue.findIndex((e) => e.event === 'heartbeat');
      this.queue.splice(heartbeat >= 0 ? heartbeat : 0, 1);
    }
    if (this.exiting) return;
    if (urgent || this.queue.length >= this.options.maxBatch) this.flush();
    else this.schedule(this.options.flushIntervalMs);
  }

  /** Sends what is queued now (unless backing off after a failure). */
  flush(): void {
    if (this.sending || this.queue.length === 0) return;
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      this.schedule(wait);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.sending = true;
    const started = Date.now();
    void this.post(this.body(batch)).then((status) => {
      this.sending = false;
      if (status === 0 || status === 408 || status === 429 || status >= 500) {
        this.queue.unshift(...batch);
        this.failures++;
        const backoff = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** (this.failures - 1));
        this.retryAt = Date.now() + Math.max(this.retryAfterMs, backoff * (0.5 + Math.random() / 2));
      } else {
        // Delivered, or refused for good (4xx: retrying the same bytes cannot help).
        this.failures = 0;
        this.retryAt = 0;
        this.rttMs = Date.now() - started;
      }
      this.retryAfterMs = 0;
      if (this.queue.length > 0) this.flush();
    });
  }

  /** The page is going away: hold what is pushed now for `flushOnExit` instead of starting fetches. */
  beginExit(): void {
    this.exiting = true;
  }

  /** For pagehide: hands everything to sendBeacon, which the browser delivers after the page is gone. */
  flushOnExit(): void {
    this.exiting = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const navigator = environment.navigator;
    const beacon = navigator?.sendBeacon?.bind(navigator);
    while (this.queue.length > 0) {
      let count = Math.min(this.queue.length, this.options.maxBatch);
      let body = this.body(this.queue.slice(0, count));
      while (body.length > KEEPALIVE_BYTES && count > 1) {
        count = Math.ceil(count / 2);
        body = this.body(this.queue.slice(0, count));
      }
      this.queue.splice(0, count);
      if (!beacon?.(this.options.url, body)) void this.post(body);
    }
  }

  get size(): number {
    return this.queue.length;
  }

  private body(events: QueuedEvent[]): string {
    const metadata: Record<string, unknown> = { sdk: this.options.sdk, sent_at: Date.now() };
    if (this.rttMs !== undefined) metadata.rtt_ms = Math.min(this.rttMs, 60_000);
    return JSON.stringify({ metadata, events });
  }

  /** The status, or 0 when the network failed. */
  private async post(body: string): Promise<number> {
    try {
      const answer = await environment.fetch!(this.options.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
        keepalive: body.length < KEEPALIVE_BYTES,
        credentials: 'omit',
      });
      const retryAfter = Number(answer.headers.get('retry-after'));
      if (retryAfter > 0) this.retryAfterMs = Math.min(retryAfter * 1_000, MAX_BACKOFF_MS);
      return answer.status;
    } catch {
      return 0;
    }
  }

  /** Arms the flush timer, keeping whichever deadline comes first. */
  private schedule(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
  }
}
