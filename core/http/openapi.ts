import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * One OpenAPI document for the platform's HTTP server, at `/docs/json` with its UI at `/docs`.
 * @fastify/swagger collects the routes registered after it in its own context and below, so the
 * platform registers it on the root instance before any service: every service's routes and
 * shared schemas end up in the one document.
 */
export type SecurityRequirements = Array<Record<string, string[]>>;

/** The query API, live board and clip routes: an API token (core/http/api-auth.ts). */
export const API_TOKEN_SECURITY: SecurityRequirements = [{ apiToken: [] }, { apiTokenQuery: [] }];
/** The moderation and clip-request routes: a chat token (core/chat/chat-token.ts). */
export const CHAT_TOKEN_SECURITY: SecurityRequirements = [{ chatToken: [] }];

const SECURITY_SCHEMES = {
  bearerWriteKey: { type: 'http', scheme: 'bearer', description: 'Write key of the property' },
  queryWriteKey: {
    type: 'apiKey',
    in: 'query',
    name: 'key',
    description: 'Write key, for clients that cannot set headers',
  },
  ivsSecret: {
    type: 'apiKey',
    in: 'header',
    name: 'x-livepulse-ivs-secret',
    description: 'LIVEPULSE_IVS_WEBHOOK_SECRET',
  },
  apiToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'API token: role admin, analyst or creator (`livepulse api-token` in development)',
  },
  apiTokenQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'API token, for EventSource and media elements that cannot set headers',
  },
  chatToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Chat token with per-stream roles (`livepulse token` in development)',
  },
} as const;

/** Call it on the root instance itself (not through `register`, which would fence it into a child context). */
export async function openApiDocument(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Livepulse API',
        version: '1',
        description:
          'Player events, CMCD v2 reports and Amazon IVS state changes in; stream metrics, creator reports, the stream registry, ' +
          'the live board, clips and chat moderation out. Each route is served by the service named in its tag (docs/architecture.md).',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

/**
 * Gives every route a plugin registers from now on these tags and security requirements, unless
 * the route states its own: the plugin's authentication hook covers all of them alike.
 */
export function documentRoutes(
  app: FastifyInstance,
  defaults: { tags: string[]; security?: SecurityRequirements },
): void {
  app.addHook('onRoute', (route) => {
    route.schema = {
      tags: defaults.tags,
      ...(defaults.security && { security: defaults.security }),
      ...route.schema,
    };
  });
}
