import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlatformEnv } from '../test/platform-env.ts';
import { loadConfig } from '../core/config.ts';
import { startPlatform, type RunningPlatform, type ServiceDefinition } from '../core/platform.ts';
import { SERVICES } from './services.ts';

interface OpenApiOperation {
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<string, { properties?: Record<string, unknown> }>;
  };
}

/** Every route the services register, as fastify announces it (onRoute), before the first service starts. */
const registered: RouteOptions[] = [];
const routeRecorder: ServiceDefinition = {
  name: 'route-recorder',
  description: 'records every route registered after it',
  start({ http }) {
    http.addHook('onRoute', (route) => {
      registered.push(route);
    });
    return Promise.resolve({ stop: () => Promise.resolve() });
  },
};

/** `/v1/clips/:clipId` → `/v1/clips/{clipId}`, as OpenAPI writes a path. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const documented = (route: RouteOptions) => route.method !== 'HEAD' && !route.schema?.hide;

describe('/docs/json: one OpenAPI document for every service', () => {
  let platform: RunningPlatform;
  let dataDir: string;
  let document: OpenApiDocument;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-openapi-'));
    const config = loadConfig(testPlatformEnv(dataDir, `openapi_${randomUUID().replaceAll('-', '').slice(0, 12)}`));
    platform = await startPlatform(config, [routeRecorder, ...SERVICES], pino({ level: 'silent' }));
    const response = await fetch(`${platform.url}/docs/json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as OpenApiDocument;
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
    await platform?.context.analytics.close().catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('lists every route the services register, and only those besides the health routes', () => {
    const routes = registered
      .filter(documented)
      .flatMap((route) => [route.method].flat().map((method) => `${method.toLowerCase()} ${openApiPath(route.url)}`));
    expect(routes.length).toBeGreaterThan(30);
    const paths = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect(paths.sort()).toEqual([...routes, 'get /healthz', 'get /readyz', 'get /metrics'].sort());
  });

  it('gives each route its tags, its security scheme and every response schema it declares', () => {
    for (const route of registered.filter(documented)) {
      for (const method of [route.method].flat()) {
        const operation = document.paths[openApiPath(route.url)]![method.toLowerCase()]!;
        expect(operation.tags, `${method} ${route.url}`).toEqual([expect.any(String)]);
        for (const requirement of operation.security ?? []) {
          for (const scheme of Object.keys(requirement))
            expect(document.components.securitySchemes, `${method} ${route.url}`).toHaveProperty(scheme);
        }
        const declared = (route.schema as { response?: Record<string, unknown> } | undefined)?.response ?? {};
        for (const [status, schema] of Object.entries(declared)) {
          const answer = operation.responses[status];
          expect(answer, `${method} ${route.url} ${status}`).toBeDefined();
          // A bodiless answer (204, `type: 'null'`) has a description and no content.
          if ((schema as { type?: string }).type !== 'null')
            expect(answer!.content?.['application/json']?.schema, `${method} ${route.url} ${status}`).toBeTypeOf(
              'object',
            );
        }
      }
    }
  });

  it('says how every authenticated route authenticates', () => {
    const security = (method: string, path: string) => document.paths[path]![method]!.security;
    expect(security('post', '/v1/events')).toEqual([{ bearerWriteKey: [] }, { queryWriteKey: [] }]);
    expect(security('post', '/v1/ivs/events')).toEqual([{ ivsSecret: [] }]);
    expect(security('get', '/v1/streams/{id}/metrics')).toEqual([{ apiToken: [] }, { apiTokenQuery: [] }]);
    expect(security('get', '/v1/clips/{clipId}')).toEqual([{ apiToken: [] }, { apiTokenQuery: [] }]);
    expect(security('get', '/v1/chat/streams/{streamId}/held')).toEqual([{ chatToken: [] }]);
    expect(security('get', '/healthz')).toBeUndefined();
  });

  it('carries the shared schemas the routes refer to', () => {
    expect(Object.keys(document.components.schemas.PlayerEvent!.properties!)).toEqual(
      expect.arrayContaining(['event', 'view_id', 'stream_id', 'counters']),
    );
  });
});
