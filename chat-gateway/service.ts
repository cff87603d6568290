import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { trustedProxyRanges } from '../core/http/trusted-proxies.ts';
import { defaultChannelSettings } from '../core/moderation/channel-settings.ts';
import { ChatModerator } from '../core/moderation/moderate-message.ts';
import type { ServiceDefinition } from '../core/platform.ts';
import { clipProfileFromConfig, profileVersion } from '../core/clips/clip-profile.ts';
import { clipId } from '../core/clips/clip-records.ts';
import { ChannelRulesCache } from './channel-rules-cache.ts';
import { ChatCommands } from './chat-commands.ts';
import { startClipListener } from './clip-listener.ts';
import { chatMetrics } from './chat-metrics.ts';
import { createChatStore } from '../core/chat/chat-store/create-chat-store.ts';
import { createChatTokenVerifier } from '../core/chat/chat-token.ts';
import { HeldMessages } from './held-messages.ts';
import { startHostPromptListener } from './host-prompt-listener.ts';
import { MessageIntake } from './message-intake.ts';
import { moderationRoutes } from './moderation-routes.ts';
import { ModeratorActions } from './moderator-actions.ts';
import { PromptFeedback } from './prompt-feedback.ts';
import { CHAT_NAMESPACE } from '../core/chat/protocol.ts';
import { registerChatNamespace, SETTINGS_CHANGED_EVENT, socketIoFanout } from './socket-server.ts';
import { startVerdictListener } from './verdict-listener.ts';
import { ViewerCounts } from './viewer-counts.ts';

/**
 * Largest socket.io frame accepted. A 500-character message is at most ~2 KB of UTF-8 plus
 * framing; anything far beyond is abuse, and engine.io closes the connection rather than buffer it.
 */
export const MAX_FRAME_BYTES = 16 * 1_024;

/**
 * chat-gateway: socket.io chat (namespace `/chat`) on the platform's HTTP server, with the inline
 * heuristics, held messages, AI verdicts from `chat.verdicts`, and the moderator API under
 * `/v1/chat`. Each stream's staff room (hosts, moderators, admins) also gets its host prompts
 * (`host.prompts`) and clip news (`clips`), and its staff may type `!clip`. With REDIS_URL, nodes share rooms through the socket.io sharded Redis adapter
 * (Redis 7+) and share bans, settings, history, held messages and rate limits through Redis.
 */
export const chatGatewayService: ServiceDefinition = {
  name: 'chat-gateway',
  description: 'socket.io chat with inline moderation, held messages, AI verdicts and moderator tools',
  async start(context) {
    const { config, logger, bus, liveState, http, analytics } = context;
    const metrics = chatMetrics(context.metrics);
    const verifier = createChatTokenVerifier(config.auth);
    const store = await createChatStore(config, logger);
    const clustered = config.liveState.kind === 'redis';

    const io = new Server(http.server, {
      serveClient: false,
      maxHttpBufferSize: MAX_FRAME_BYTES,
      // Tokens travel in the handshake payload, not cookies, so any origin may connect.
      cors: { origin: true, credentials: false },
      // Other upgrade requests on the shared server are not socket.io's to close.
      destroyUpgrade: false,
    });
    const adapterClients: Redis[] = [];
    if (config.liveState.kind === 'redis') {
      const publisher = new Redis(config.liveState.url, { maxRetriesPerRequest: 1 });
      const subscriber = publisher.duplicate();
      for (const client of [publisher, subscriber])
        client.on('error', (error: Error) => logger.warn({ err: error }, 'socket.io redis adapter connection error'));
      adapterClients.push(publisher, subscriber);
      io.adapter(createShardedAdapter(publisher, subscriber, { subscriptionMode: 'dynamic' }));
    }
    const nsp = io.of(CHAT_NAMESPACE);

    const defaults = () => defaultChannelSettings({ anonymousViewers: config.chat.anonymousViewers });
    const rules = new ChannelRulesCache(store, defaults);
    if (clustered)
      nsp.on(SETTINGS_CHANGED_EVENT, (streamId: unknown) => typeof streamId === 'string' && rules.invalidate(streamId));
    const fanout = socketIoFanout(nsp, (streamId) => rules.invalidate(streamId), clustered);
    const held = new HeldMessages({ store, bus, fanout, metrics, logger, chat: config.chat });
    const intake = new MessageIntake({
      chat: config.chat,
      store,
      liveState,
      bus,
      rules,
      moderator: new ChatModerator(),
      held,
      fanout,
      metrics,
      logger,
    });
    const actions = new ModeratorActions({ store, liveState, bus, fanout, held, rules, defaults, metrics });
    const viewers = new ViewerCounts(nsp, { clustered });
    const clipProfile = profileVersion(clipProfileFromConfig(config.clips));
    const commands = new ChatCommands({
      bus,
      liveState,
      clipIdOf: (h) => clipId({ streamId: h.stream_id, startMs: h.start, endMs: h.end, profileVersion: clipProfile }),
      metrics,
      logger,
    });
    const promptFeedback = new PromptFeedback({ analytics, liveState, metrics });
    const trustedProxies = trustedProxyRanges(config.http.trustedProxies);
    registerChatNamespace({
      nsp,
      chat: config.chat,
      trustedProxies,
      verifier,
      liveState,
      store,
      rules,
      intake,
      actions,
      commands,
      promptFeedback,
      viewers,
      metrics,
      logger,
    });

    await http.register(moderationRoutes, { verifier, actions, logger });
    // Open websockets would keep the HTTP server from closing; drop them when it starts to.
    http.addHook('preClose', () => {
      nsp.local.disconnectSockets(true);
      return Promise.resolve();
    });
    // Joins its consumer group in the background: a rebalance (a crashed node's stale membership
    // can hold one for the session timeout) must not keep chat down.
    const verdicts = await startVerdictListener({ bus, store, held, fanout, metrics, logger });
    const prompts = await startHostPromptListener({ bus, liveState, fanout, metrics, logger });
    const clips = await startClipListener({ bus, fanout, metrics, logger });
    viewers.start();

    return {
      async stop() {
        viewers.stop();
        held.stop();
        await Promise.all([verdicts.stop(), prompts.stop(), clips.stop()]);
        nsp.local.disconnectSockets(true);
        await nsp.adapter.close();
        io.engine.close();
        await Promise.all(adapterClients.map((client) => client.quit().catch(() => client.disconnect())));
        await store.close();
      },
      readiness: [{ name: `chat-store:${store.kind}`, check: () => store.ping() }],
    };
  },
};
