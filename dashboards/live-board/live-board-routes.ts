import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { readManifest } from '../../core/clips/clip-records.ts';
import { requireApiIdentity, type ApiIdentity, type ApiTokenVerifier } from '../../core/http/api-auth.ts';
import { API_TOKEN_SECURITY, documentRoutes } from '../../core/http/openapi.ts';
import type { Logger } from '../../core/logger.ts';
import { ownValue } from '../../core/own-value.ts';
import type { ObjectStore } from '../../core/object-store/object-store.ts';
import { decideStreamAccess } from '../../core/streams/stream-ownership.ts';
import type { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { resolveByteRange } from './byte-range.ts';
import type { LiveBoardStore } from './live-board-store.ts';
import { overviewFor, type LiveOverviewFeed } from './live-overview.ts';

const PUBLIC_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), 'public');
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot')), '..', 'dist');

/** Everything the page loads: a fixed list, so no request can name another file. */
const ASSETS: Record<string, { path: string; contentType: string }> = {
  'live-board.js': { path: join(PUBLIC_DIRECTORY, 'live-board.js'), contentType: 'text/javascript; charset=utf-8' },
  'live-board.css': { path: join(PUBLIC_DIRECTORY, 'live-board.css'), contentType: 'text/css; charset=utf-8' },
  'uPlot.esm.js': { path: join(UPLOT_DIST, 'uPlot.esm.js'), contentType: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(UPLOT_DIST, 'uPlot.min.css'), contentType: 'text/css; charset=utf-8' },
};

const ID_PATTERN = '^[A-Za-z0-9._:@/+=-]+$';
const CLIP_ID_PATTERN = '^clip_[0-9a-f]{32}$';

export interface LiveBoardRouteOptions {
  store: LiveBoardStore;
  feed: LiveOverviewFeed;
  verifier: ApiTokenVerifier;
  /** Who owns each stream: decides every read here (core/streams/). */
  registry: StreamRegistry;
  objectStore: ObjectStore;
  logger: Logger;
  /** How often the board gets a snapshot over SSE. */
  pushIntervalMs: number;
}

/** `GET /live` and its assets: public, the page asks for a token itself. */
export function liveBoardPageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/live', { schema: { hide: true } }, async (_request, reply) => {
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await readFile(join(PUBLIC_DIRECTORY, 'index.html')));
  });
  app.get<{ Params: { name: string } }>('/live/assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const asset = ownValue(ASSETS, request.params.name);
    if (!asset) return reply.code(404).send({ error: 'not_found', message: `no asset ${request.params.name}` });
    return reply
      .type(asset.contentType)
      .header('cache-control', 'no-cache')
      .send(await readFile(asset.path));
  });
  return Promise.resolve();
}

/** The authenticated API under `/v1`: a stream's live view, the SSE feed, clip files. */
export function liveBoardApiRoutes(app: FastifyInstance, options: LiveBoardRouteOptions): Promise<void> {
  const { store, feed, verifier, registry, objectStore, logger, pushIntervalMs } = options;
  /**
   * The registry's refusal (403, or 404 for a creator asking about an unregistered stream), or null
   * when the token may read the stream. `knownOwner` is the owner a live view already carries.
   */
  const refusal = async (identity: ApiIdentity, streamId: string, knownOwner?: string | null) => {
    const owner = knownOwner !== undefined ? knownOwner : ((await registry.ownerOf(streamId))?.creator_id ?? null);
    const access = decideStreamAccess(identity, streamId, owner === null ? null : { creator_id: owner });
    return access.kind === 'refused'
      ? { status: access.statusCode, body: { error: access.code, message: access.message } }
      : null;
  };
  app.addHook('onRequest', requireApiIdentity(verifier));
  documentRoutes(app, { tags: ['live'], security: API_TOKEN_SECURITY });
  const openStreams = new Set<() => void>();
  // Open event streams would keep the HTTP server from closing; end them when it starts to.
  app.addHook('preClose', () => {
    for (const end of openStreams) end();
    return Promise.resolve();
  });

  app.get<{ Params: { streamId: string } }>(
    '/streams/:streamId/live',
    {
      schema: {
        summary:
          "A stream's live numbers: concurrent viewers and peak, chat rate, moderation counts, active highlights, latest clips",
        tags: ['live'],
        params: {
          type: 'object',
          properties: { streamId: { type: 'string', minLength: 1, maxLength: 128, pattern: ID_PATTERN } },
          required: ['streamId'],
        },
      },
    },
    async (request, reply) => {
      const { streamId } = request.params;
      // The view carries its registered owner (read alongside the state); a refusal comes before
      // the 404, so it says nothing about whether the stream has live state.
      const [view] = await store.views([streamId], Date.now());
      const refused = await refusal(request.apiIdentity!, streamId, view ? view.creator_id : undefined);
      if (refused) return reply.code(refused.status).send(refused.body);
      if (!view) return reply.code(404).send({ error: 'not_found', message: `no live state for stream ${streamId}` });
      return view;
    },
  );

  app.get(
    '/live/overview',
    { schema: { summary: 'The busiest active streams the token may read, as the board shows them', tags: ['live'] } },
    async (request) => {
      const { views, at } = await feed.read();
      return overviewFor(request.apiIdentity!, views, at);
    },
  );

  app.get(
    '/live/events',
    {
      schema: {
        summary: 'Server-sent events: the overview, once per second (`?token=` since EventSource cannot set headers)',
        tags: ['live'],
      },
    },
    async (request, reply) => {
      const identity = request.apiIdentity!;
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies such as nginx would otherwise hold the events back.
        'x-accel-buffering': 'no',
      });
      let open = true;
      const send = (overview: unknown) => {
        if (open) response.write(`event: overview\ndata: ${JSON.stringify(overview)}\n\n`);
      };
      const unsubscribe = feed.subscribe((views, at) => send(overviewFor(identity, views, at)));
      const end = () => {
        if (!open) return;
        open = false;
        unsubscribe();
        openStreams.delete(end);
        response.end();
      };
      openStreams.add(end);
      request.raw.on('close', end);
      response.write(`retry: ${Math.max(1_000, pushIntervalMs)}\n\n`);
      // The first snapshot goes out at once, not a tick later.
      try {
        const first = await feed.read();
        send(overviewFor(identity, first.views, first.at));
      } catch (error) {
        logger.warn({ err: error }, 'reading the live overview failed; the next tick will send it');
      }
    },
  );

  app.get<{ Params: { clipId: string; name: string } }>(
    '/clips/:clipId/files/:name',
    {
      schema: {
        summary:
          "One of a clip's files by output name (mp4, thumbnail, vertical, sprite, sprite_vtt), with byte ranges for video",
        tags: ['clips'],
        params: {
          type: 'object',
          properties: {
            clipId: { type: 'string', pattern: CLIP_ID_PATTERN },
            name: { type: 'string', pattern: '^[a-z0-9_]{1,32}$' },
          },
          required: ['clipId', 'name'],
        },
      },
    },
    async (request, reply) => {
      const { clipId, name } = request.params;
      const manifest = await readManifest(objectStore, clipId, request.log as Logger);
      const output = manifest ? ownValue(manifest.outputs, name) : undefined;
      if (!manifest || !output)
        return reply.code(404).send({ error: 'not_found', message: `clip ${clipId} has no ${name}` });
      const refused = await refusal(request.apiIdentity!, manifest.stream_id);
      if (refused)
        return reply.code(403).send({
          error: 'forbidden',
          message: `this token may not read clips of stream ${manifest.stream_id}: ${refused.body.message}`,
        });
      const range = resolveByteRange(request.headers.range, output.bytes);
      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', output.content_type)
        .header('cache-control', 'private, max-age=3600');
      if (range.kind === 'unsatisfiable')
        return reply.code(416).header('content-range', `bytes */${output.bytes}`).send();
      if (range.kind === 'whole')
        return reply.header('content-length', output.bytes).send(await objectStore.getStream(output.key));
      return reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${output.bytes}`)
        .header('content-length', range.end - range.start + 1)
        .send(await objectStore.getStream(output.key, { start: range.start, end: range.end }));
    },
  );
  return Promise.resolve();
}
