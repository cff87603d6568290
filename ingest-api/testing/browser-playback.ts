import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { startTestCollector, type TestCollector } from './test-collector.ts';

/** What the browser tests share: a short HLS stream made by ffmpeg, a page server, and headless Chromium that autoplays it. */
const require = createRequire(import.meta.url);
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Writes `index.m3u8` and 2 s segments of `seconds` of test pattern (with a tone when `audio`) into `dir`. */
export async function writeTestHls(
  dir: string,
  { size = '640x360', seconds = 10, audio = true }: { size?: string; seconds?: number; audio?: boolean } = {},
): Promise<void> {
  const tone = audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : [];
  const audioCodec = audio ? ['-c:a', 'aac', '-b:a', '64k'] : [];
  await promisify(execFile)('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25`,
    ...tone,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '50',
    ...audioCodec,
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    join(dir, 'seg%03d.ts'),
    join(dir, 'index.m3u8'),
  ]);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
};

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves the test page at `/` (its HTML asked for at each request), hls.js at `/hls.js`, the
 * files `extraFiles` names, and anything else from `dir` (the stream).
 */
export async function startPageServer(
  dir: string,
  html: () => string,
  extraFiles: Record<string, string> = {},
): Promise<PageServer> {
  const files: Record<string, string> = { '/hls.js': require.resolve('hls.js/dist/hls.min.js'), ...extraFiles };
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url!, 'http://page').pathname;
    const file = path === '/' ? null : (files[path] ?? join(dir, normalize(path).replace(/^(\.\.[/\\])+/, '')));
    try {
      const body = file ? await readFile(file) : Buffer.from(html());
      response
        .writeHead(200, { 'content-type': TYPES[file ? extname(file) : '.html'] ?? 'application/octet-stream' })
        .end(body);
    } catch {
      response.writeHead(404).end();
    }
  };
  // Each request answers on its own; a file that cannot be read is a 404, not a rejection.
  const server = createServer((request, response) => void answer(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A page server, a collector that only the page's origin may use, and Chromium: what a browser test plays against. */
export interface BrowserPlayback {
  pageOrigin: string;
  collector: TestCollector;
  collectorUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startBrowserPlayback(
  dir: string,
  html: () => string,
  extraFiles: Record<string, string> = {},
): Promise<BrowserPlayback> {
  const page = await startPageServer(dir, html, extraFiles);
  // Only the test page's origin may use the key: CORS and the origin check are part of what is tested.
  const collector = await startTestCollector({ LIVEPULSE_WRITE_KEY_ORIGINS: `demo=${page.origin}` });
  const collectorUrl = await collector.app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await launchChromium();
  return {
    pageOrigin: page.origin,
    collector,
    collectorUrl,
    browser,
    async close() {
      await browser.close();
      await collector.close();
      await page.close();
    },
  };
}
