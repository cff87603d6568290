/**
 * The few browser APIs the SDK uses, described structurally: any HTMLVideoElement fits
 * `MediaElement` (so the SDK works under hls.js, video.js, Shaka or native HLS), and tests can
 * stand in fakes. Globals are read through `environment`, never assumed.
 */
export interface MediaElement {
  currentTime: number;
  paused: boolean;
  ended: boolean;
  videoWidth: number;
  videoHeight: number;
  clientWidth: number;
  clientHeight: number;
  error: { code: number; message?: string } | null;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
  getVideoPlaybackQuality?(): { droppedVideoFrames: number };
}

export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
}

export interface EventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export interface Environment {
  fetch?: (
    url: string,
    init: { method: string; body: string; headers: Record<string, string>; keepalive: boolean; credentials: 'omit' },
  ) => Promise<HttpAnswer>;
  navigator?: { sendBeacon?(url: string, data: string): boolean };
  document?: EventSource & { visibilityState?: string };
  addEventListener?: EventSource['addEventListener'];
  removeEventListener?: EventSource['removeEventListener'];
  localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  crypto?: { randomUUID?(): string; getRandomValues?(array: Uint8Array): Uint8Array };
}

export const environment = globalThis as unknown as Environment;

/** A random UUID v4, from randomUUID where the page is a secure context, else from getRandomValues. */
export function uuid(): string {
  const crypto = environment.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An anonymous viewer id kept in localStorage (a random id, nothing about the person); per page view where storage is blocked. */
export function persistentViewerId(): string {
  const key = 'livepulse_viewer';
  try {
    const stored = environment.localStorage?.getItem(key);
    if (stored) return stored;
    const fresh = uuid();
    environment.localStorage?.setItem(key, fresh);
    return fresh;
  } catch {
    return uuid();
  }
}
