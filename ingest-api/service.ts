import type { ServiceDefinition } from '../core/platform.ts';
import { ingestApi } from './ingest-plugin.ts';

/**
 * ingest-api: the player-event collector. Registers its routes on the platform's HTTP server;
 * all its state lives in the bus and live-state ports, so stopping it has nothing to flush
 * (the platform drains the bus after the server stopped taking requests).
 */
export const ingestApiService: ServiceDefinition = {
  name: 'ingest-api',
  description: 'player events (SDK, CMCD v2) and IVS state changes into the bus',
  async start(context) {
    await context.http.register(ingestApi, context);
    return { stop: () => Promise.resolve() };
  },
};
