import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { ChatStore } from './chat-store.ts';
import { MemoryChatStore } from './memory-chat-store.ts';
import { RedisChatStore } from './redis-chat-store.ts';

/** Same switch as live state: Redis when REDIS_URL is set, else memory backed by a file in the data directory. */
export async function createChatStore(
  config: Pick<Config, 'liveState' | 'dataDir'>,
  logger?: Pick<Logger, 'warn'>,
): Promise<ChatStore> {
  switch (config.liveState.kind) {
    case 'redis':
      return new RedisChatStore({ url: config.liveState.url, logger });
    case 'memory':
      return MemoryChatStore.open(join(config.dataDir, 'chat', 'moderation-state.json'));
  }
}
