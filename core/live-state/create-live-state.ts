import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { LiveState } from './live-state.ts';
import { MemoryLiveState } from './memory-live-state.ts';
import { RedisLiveState } from './redis-live-state.ts';

export function createLiveState(config: Config['liveState'], logger?: Pick<Logger, 'warn'>): LiveState {
  switch (config.kind) {
    case 'memory':
      return new MemoryLiveState();
    case 'redis':
      return new RedisLiveState({ url: config.url, logger });
  }
}
