import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
} from '@clickhouse/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// The behaviour of the HTTP layer itself; analytics-store.int.test.ts runs the store contract over it.
const SERVER = fileURLToPath(new URL('./clickhouse-http-server.ts', import.meta.url));
const USER = 'livepulse';
const PASSWORD = 'local-secret';

let server: ChildProcess;
let dataDir: string;
let url: string;
const clients: ClickHouseClient[] = [];

function client(options: Omit<ClickHouseClientConfigOptions, 'url'> = {}): ClickHouseClient {
  const created = createClient({
    url,
    username: USER,
    password: PASSWORD,
    log: { level: ClickHouseLogLevel.OFF },
    ...options,
  });
  clients.push(created);
  return created;
}

function post(query: string, parameters: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  const search = new URLSearchParams({ user: USER, password: PASSWORD, ...parameters });
  return fetch(`${url}/?${search.toString()}`, { method: 'POST', body: query, ...init });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'livepulse-ch-http-'));
  server = spawn(
    process.execPath,
    ['--import', 'tsx', SERVER, '--port', '0', '--path', dataDir, '--user', USER, '--password', PASSWORD],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(chunk.toString());
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
});

afterAll(async () => {
  server.kill('SIGTERM');
  if (server.exitCode === null) await once(server, 'exit');
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('ClickHouse HTTP server over chDB', () => {
  it('answers health checks without credentials', async () => {
    for (const path of ['/ping', '/']) {
      const response = await fetch(`${url}${path}`);
      expect([response.status, await response.text()]).toEqual([200, 'Ok.\n']);
    }
    expect((await client().ping()).success).toBe(true);
  });

  it('checks credentials from Basic auth, X-ClickHouse headers and URL parameters', async () => {
    const wrong = client({ password: 'nope' }).query({ query: 'SELECT 1' });
    await expect(wrong).rejects.toBeInstanceOf(ClickHouseError);
    await expect(wrong).rejects.toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
    expect((await fetch(`${url}/?query=SELECT+1`)).status).toBe(403);

    expect(await (await client().query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([
      { one: 1 },
    ]);
    const byHeaders = await fetch(`${url}/?query=SELECT+2`, {
      headers: { 'X-ClickHouse-User': USER, 'X-ClickHouse-Key': PASSWORD },
    });
    expect(await byHeaders.text()).toBe('2\n');
    expect(await (await post('SELECT 3')).text()).toBe('3\n');
  });

  it('returns the query id, a summary and the timezone in headers', async () => {
    const response = await post('SELECT number FROM system.numbers LIMIT 5', {
      query_id: 'my-query-1',
      default_format: 'JSONEachRow',
    });
    expect(response.headers.get('x-clickhouse-query-id')).toBe('my-query-1');
    expect(JSON.parse(response.headers.get('x-clickhouse-summary')!)).toMatchObject({ read_rows: '5' });
    expect(response.headers.get('x-clickhouse-timezone')).toBeTruthy();
    expect((await response.text()).trim().split('\n')).toHaveLength(5);

    const result = await client().query({ query: 'SELECT 1', query_id: 'my-query-2' });
    expect(result.query_id).toBe('my-query-2');
    result.close();
  });

  it.each([
    { query: 'SELEC 1', status: 400, code: '62' },
    { query: 'SELECT * FROM no_such_table', status: 404, code: '60' },
    { query: 'SELECT 1; SELECT 2', status: 400, code: '62' },
    { query: '', status: 400, code: '62' },
  ])('answers "$query" with HTTP $status and exception code $code', async ({ query, status, code }) => {
    const response = await post(query);
    expect(response.status).toBe(status);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe(code);
    expect(await response.text()).toMatch(new RegExp(`^Code: ${code}\\. DB::Exception: .+\\([A-Z_]+\\)\\n$`));
  });

  it('runs GET requests read-only, and only them', async () => {
    const get = await fetch(
      `${url}/?${new URLSearchParams({ user: USER, password: PASSWORD, query: 'CREATE TABLE ro (x UInt8) ENGINE = Memory' }).toString()}`,
    );
    expect(get.headers.get('x-clickhouse-exception-code')).toBe('164');
    expect((await post('CREATE TABLE ro (x UInt8) ENGINE = Memory')).status).toBe(200);
    expect((await post('DROP TABLE ro')).status).toBe(200);
  });

  it('applies URL settings to their own request only', async () => {
    const read = async (parameters: Record<string, string> = {}) =>
      (await (await post("SELECT getSetting('max_block_size'), getSetting('readonly')", parameters)).text()).trim();
    const initial = await read();
    expect(await read({ max_block_size: '1234' })).toBe('1234\t0');
    expect(await read()).toBe(initial);
    expect((await post('SELECT 1', { no_such_setting: '1' })).headers.get('x-clickhouse-exception-code')).toBe('115');
  });

  it('uses the database parameter for that request only', async () => {
    await client().command({ query: 'CREATE DATABASE IF NOT EXISTS other' });
    expect(await (await post('SELECT currentDatabase()', { database: 'other' })).text()).toBe('other\n');
    expect(await (await post('SELECT currentDatabase()')).text()).toBe('default\n');
    expect((await post('SELECT 1', { database: 'missing' })).status).toBe(404);
  });

  it('takes query parameters from a multipart body', async () => {
    const big = 'x'.repeat(10_000);
    const result = await client({ use_multipart_params: true }).query({
      query: 'SELECT length({big:String}) AS n, {quoted:String} AS quoted',
      query_params: { big, quoted: "it's\t\\" },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: 10_000, quoted: "it's\t\\" }]);
  });

  it('reads compressed request bodies and compresses responses when asked', async () => {
    const compressing = client({ compression: { request: true, response: true } });
    await compressing.command({ query: 'CREATE TABLE IF NOT EXISTS zipped (x UInt32) ENGINE = Memory' });
    await compressing.insert({ table: 'zipped', values: [{ x: 1 }, { x: 2 }], format: 'JSONEachRow' });
    expect(
      await (await compressing.query({ query: 'SELECT sum(x) AS total FROM zipped', format: 'JSONEachRow' })).json(),
    ).toEqual([{ total: 3 }]);

    const response = await post(
      'SELECT 1',
      { enable_http_compression: '1' },
      { headers: { 'Accept-Encoding': 'gzip' } },
    );
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(await response.text()).toBe('1\n');
  });

  it('refuses what it does not implement instead of ignoring it', async () => {
    const response = await post('SELECT 1', { session_id: 'abc' });
    expect([response.status, response.headers.get('x-clickhouse-exception-code')]).toEqual([501, '48']);
    expect((await fetch(`${url}/play`)).status).toBe(404);
  });
});
