import { createApiTokenVerifier } from '../../core/http/api-auth.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { subscribeLiveBoard } from './live-board-consumer.ts';
import { liveBoardApiRoutes, liveBoardPageRoutes } from './live-board-routes.ts';
import { LiveBoardStore } from './live-board-store.ts';
import { LiveOverviewFeed } from './live-overview.ts';

/** The board gets a snapshot this often (the page must update at least once a second). */
const PUSH_INTERVAL_MS = 1_000;

/**
 * live-board: folds viewer counts, chat, verdicts, highlights and clips into per-stream live
 * state (a member of the shared `live-board` consumer group), and serves the board (`/live`),
 * `GET /v1/streams/:id/live`, the SSE feed and clip files from that state, on any instance.
 */
export const liveBoardService: ServiceDefinition = {
  name: 'live-board',
  description: 'live per-stream numbers (viewers, chat, moderation, highlights, clips), the /live page and its API',
  async start(context) {
    const { config, logger, metrics, bus, liveState, analytics, objectStore, http } = context;
    const registry = new StreamRegistry(analytics, liveState);
    const store = new LiveBoardStore(liveState, registry, logger);
    const feed = new LiveOverviewFeed(store, logger, PUSH_INTERVAL_MS);
    const verifier = createApiTokenVerifier(config.auth);
    await http.register(liveBoardPageRoutes);
    await http.register(liveBoardApiRoutes, {
      prefix: '/v1',
      store,
      feed,
      verifier,
      registry,
      objectStore,
      logger,
      pushIntervalMs: PUSH_INTERVAL_MS,
    });

    const subscription = await subscribeLiveBoard({ bus, store, metrics });
    return {
      async stop() {
        feed.stop();
        await subscription.stop();
      },
    };
  },
};
