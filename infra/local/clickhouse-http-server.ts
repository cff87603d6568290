/**
 * The ClickHouse HTTP interface served over chDB, so the real `@clickhouse/client` (and curl, and
 * Grafana's ClickHouse datasource in HTTP mode) can talk to a local ClickHouse engine without a
 * ClickHouse server install.
 *
 *   node --import tsx infra/local/clickhouse-http-server.ts --port 8123 --path ./data/clickhouse \
 *     [--host 127.0.0.1] [--user default --password secret]
 *
 * Supported: `GET /ping` and `GET /` → `Ok.`; queries by GET or POST with `query` in the URL
 * and/or the body (the URL query and the body are joined by a newline, which is how INSERT data
 * arrives); multipart/form-data bodies carrying `query` and `param_*` (the client sends large
 * parameters that way); `database`, `default_format` (TabSeparated otherwise), `query_id`,
 * `param_*` bound by the engine (never spliced into SQL); every other URL parameter applied as a
 * setting for that request only; GET requests run with `readonly = 2` as on a server; gzip,
 * deflate and br request bodies; gzip, deflate and br responses when `enable_http_compression=1`;
 * `X-ClickHouse-Query-Id`, `X-ClickHouse-Summary` (read counters and elapsed time; chDB does not
 * report written rows, so written_* are absent), `X-ClickHouse-Timezone`; errors in ClickHouse's
 * shape (`Code: N. DB::Exception: … (TYPE)`, `X-ClickHouse-Exception-Code`, the server's HTTP
 * status for that code), so the client raises a ClickHouseError; Basic auth, `X-ClickHouse-User` /
 * `X-ClickHouse-Key` and `user` / `password` parameters, checked when `--user` is given.
 * Multi-statement queries are refused, as on a server (chDB alone would run them all).
 *
 * Not supported: sessions (`session_id`), ClickHouse's native block compression
 * (`compress` / `decompress`), external data (file parts in multipart bodies), progress headers,
 * roles, zstd, and binary formats in request bodies (the body is read as UTF-8 text; any output
 * format works). A `SET` sent as the query itself outlives its request here (a server forgets it);
 * pass settings as URL parameters. Requests run one at a time on one chDB session: chDB binds one data directory per
 * process, and per-request settings and parameters are emulated on that shared session. That is
 * fine for local development and tests; it is not a production server.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, promisify } from 'node:util';
import zlib from 'node:zlib';
import { ClickHouseError, parseError } from '@clickhouse/client';
import { Session, type ChdbResult } from 'chdb';
import {
  MULTI_STATEMENT_ERROR,
  SessionSettingsBaseline,
  isMultiStatement,
} from '../../core/analytics-store/chdb-session.ts';
import { SerialQueue } from '../../core/serial-queue.ts';
import { quoteIdentifier, quoteString } from '../../core/analytics-store/sql-quoting.ts';

/** URL parameters with a meaning of their own; ClickHouse applies every other one as a setting. */
const RESERVED_PARAMETERS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  'stacktrace',
  'role',
  'buffer_size',
  'wait_end_of_query',
  'session_id',
  'session_timeout',
  'session_check',
  'client_protocol_version',
  'close_session',
  'compress',
  'decompress',
]);
const UNSUPPORTED_PARAMETERS = ['session_id', 'compress', 'decompress', 'role'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ClickHouse's exceptionCodeToHTTPStatus, keyed by the error's type name; the rest are 500. */
const HTTP_STATUS_BY_ERROR_TYPE = new Map<string, number>([
  ...statusFor(401, ['REQUIRED_PASSWORD']),
  ...statusFor(403, [
    'UNKNOWN_USER',
    'WRONG_PASSWORD',
    'AUTHENTICATION_FAILED',
    'SET_NON_GRANTED_ROLE',
    'ACCESS_DENIED',
  ]),
  ...statusFor(400, [
    'BAD_ARGUMENTS',
    'CANNOT_COMPILE_REGEXP',
    'CANNOT_PARSE_TEXT',
    'CANNOT_PARSE_ESCAPE_SEQUENCE',
    'CANNOT_PARSE_QUOTED_STRING',
    'CANNOT_PARSE_DATE',
    'CANNOT_PARSE_DATETIME',
    'CANNOT_PARSE_NUMBER',
    'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
    'CANNOT_PARSE_IPV4',
    'CANNOT_PARSE_IPV6',
    'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
    'CANNOT_PARSE_UUID',
    'DUPLICATE_COLUMN',
    'ILLEGAL_COLUMN',
    'UNKNOWN_ELEMENT_IN_AST',
    'UNKNOWN_TYPE_OF_AST_NODE',
    'THERE_IS_NO_COLUMN',
    'TOO_DEEP_AST',
    'TOO_BIG_AST',
    'UNEXPECTED_AST_STRUCTURE',
    'SYNTAX_ERROR',
    'INCORRECT_DATA',
    'TYPE_MISMATCH',
    'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  ]),
  ...statusFor(404, [
    'UNKNOWN_TABLE',
    'UNKNOWN_FUNCTION',
    'UNKNOWN_IDENTIFIER',
    'UNKNOWN_TYPE',
    'UNKNOWN_STORAGE',
    'UNKNOWN_DATABASE',
    'UNKNOWN_SETTING',
    'UNKNOWN_DIRECTION_OF_SORTING',
    'UNKNOWN_AGGREGATE_FUNCTION',
    'UNKNOWN_FORMAT',
    'UNKNOWN_DATABASE_ENGINE',
    'UNKNOWN_TYPE_OF_QUERY',
    'UNKNOWN_ROLE',
  ]),
  ...statusFor(413, ['QUERY_IS_TOO_LARGE']),
  ...statusFor(501, ['NOT_IMPLEMENTED']),
  ...statusFor(503, ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK']),
  ...statusFor(411, ['HTTP_LENGTH_REQUIRED']),
  ...statusFor(408, ['TIMEOUT_EXCEEDED']),
  ...statusFor(415, ['UNSUPPORTED_MEDIA_TYPE']),
]);

function statusFor(status: number, types: string[]): [string, number][] {
  return types.map((type) => [type, status]);
}

/** An error this server raises itself, worded and coded as ClickHouse would. */
class ServerException extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServerException';
  }

  toClickHouseText(): string {
    return `Code: ${this.code}. DB::Exception: ${this.message}. (${this.type})`;
  }
}

const BAD_ARGUMENTS = 36;
const NOT_IMPLEMENTED = 48;
const SYNTAX_ERROR = 62;
const UNKNOWN_SETTING = 115;
const AUTHENTICATION_FAILED = 516;
const STD_EXCEPTION = 1001;

type Codec = 'gzip' | 'deflate' | 'br';
const decompress: Record<Codec, (input: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};
const compress: Record<Codec, (input: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
  br: promisify(zlib.brotliCompress),
};

function isCodec(name: string): name is Codec {
  return name === 'gzip' || name === 'deflate' || name === 'br';
}

interface QueryRequest {
  sql: string;
  database: string;
  format: string;
  settings: Map<string, string>;
  params: Map<string, string>;
  responseCodec: Codec | undefined;
}

interface Credentials {
  user: string;
  password: string;
}

interface ServerOptions {
  host: string;
  port: number;
  path: string;
  credentials: Credentials | undefined;
}

class ChdbHttpServer {
  readonly #queue = new SerialQueue();

  private constructor(
    private readonly session: Session,
    private readonly baseline: SessionSettingsBaseline,
    private readonly timezone: string,
    private readonly credentials: Credentials | undefined,
  ) {}

  static async open(path: string, credentials: Credentials | undefined): Promise<ChdbHttpServer> {
    await mkdir(path, { recursive: true });
    const session = new Session(path);
    const baseline = await SessionSettingsBaseline.read(async (sql) =>
      (await session.queryAsync(sql, { format: 'JSONEachRow' })).text(),
    );
    const timezone = (await session.queryAsync('SELECT timezone()', { format: 'TabSeparatedRaw' })).text().trim();
    return new ChdbHttpServer(session, baseline, timezone, credentials);
  }

  close(): Promise<void> {
    return this.#queue.run(() => {
      this.session.close();
      return Promise.resolve();
    });
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendText(res, 200, 'Ok.\n');
      return;
    }
    if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'POST')) {
      sendText(res, 404, `There is no handle ${url.pathname} for ${req.method}\n\nUse / or /ping for health checks.\n`);
      return;
    }
    if (req.method === 'GET' && !url.searchParams.has('query')) {
      sendText(res, 200, 'Ok.\n');
      return;
    }
    const queryId = url.searchParams.get('query_id') || randomUUID();
    let responseCodec: Codec | undefined;
    try {
      this.#authenticate(req, url.searchParams);
      const body = await readBody(req);
      const fields = new URLSearchParams(url.searchParams);
      let bodyText = req.method === 'POST' ? body.toString('utf8') : '';
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.startsWith('multipart/form-data')) {
        for (const [name, value] of parseMultipartFields(body, contentType)) fields.append(name, value);
        bodyText = '';
      }
      const request = parseQueryRequest(fields, bodyText, req.method, req.headers['accept-encoding']);
      responseCodec = request.responseCodec;
      const { output, result } = await this.#queue.run(() => this.#execute(request));
      await send(res, 200, output, responseCodec, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Timezone': this.timezone,
        'X-ClickHouse-Summary': JSON.stringify({
          read_rows: String(result.rowsRead),
          read_bytes: String(result.bytesRead),
          result_bytes: String(output.length),
          elapsed_ns: String(Math.round(result.elapsed * 1e9)),
        }),
      });
    } catch (error) {
      const { code, type, text } = describeError(error);
      await send(res, HTTP_STATUS_BY_ERROR_TYPE.get(type) ?? 500, Buffer.from(`${text}\n`), responseCodec, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Exception-Code': String(code),
      });
    }
  };

  #authenticate(req: IncomingMessage, fields: URLSearchParams): void {
    if (!this.credentials) return;
    const given = requestCredentials(req, fields);
    const expected = this.credentials;
    if (!given || !sameText(given.user, expected.user) || !sameText(given.password, expected.password)) {
      throw new ServerException(
        AUTHENTICATION_FAILED,
        'AUTHENTICATION_FAILED',
        `${given?.user ?? 'default'}: Authentication failed: password is incorrect, or there is no user with such name`,
      );
    }
  }

  /**
   * Runs one request on the shared session: `USE` its database, `SET` its settings and parameters,
   * run the query, then restore the settings. Parameters need no restore: chDB's bound-query path
   * clears every query parameter when the call ends (including ones set with SET param_*), so
   * requests with parameters go through it with one unused bound value.
   */
  async #execute(request: QueryRequest): Promise<{ output: Buffer; result: ChdbResult }> {
    const assignments = [
      ...[...request.settings].map(([name, value]) => `${name} = ${quoteString(value)}`),
      // The client sends parameters in ClickHouse's escaped text form; a SET keeps that text as is,
      // so the engine parses it by the placeholder's type exactly as a server does.
      ...[...request.params].map(([name, value]) => `param_${name} = ${quoteString(value)}`),
    ];
    const sql = [
      `USE ${quoteIdentifier(request.database)}`,
      ...(assignments.length > 0 ? [`SET ${assignments.join(', ')}`] : []),
      request.sql,
    ].join(';\n');
    try {
      const result =
        request.params.size > 0
          ? await this.session.queryBindAsync(sql, { livepulse_clears_parameters: '' }, { format: request.format })
          : await this.session.queryAsync(sql, { format: request.format });
      return { output: Buffer.from(result.bytes()), result };
    } finally {
      const restore = this.baseline.restoreStatement(request.settings.keys());
      if (restore) await this.session.queryAsync(restore);
    }
  }
}

function parseQueryRequest(
  fields: URLSearchParams,
  bodyText: string,
  method: string,
  acceptEncoding: string | undefined,
): QueryRequest {
  for (const name of UNSUPPORTED_PARAMETERS) {
    if (fields.has(name) && !(name === 'decompress' && fields.get(name) === '0')) {
      throw new ServerException(
        NOT_IMPLEMENTED,
        'NOT_IMPLEMENTED',
        `The ${name} parameter is not supported by the chDB HTTP server`,
      );
    }
  }
  const settings = new Map<string, string>();
  const params = new Map<string, string>();
  for (const [name, value] of fields) {
    if (name === '' || RESERVED_PARAMETERS.has(name)) continue;
    if (name.startsWith('param_')) {
      const param = name.slice('param_'.length);
      if (!IDENTIFIER.test(param))
        throw new ServerException(BAD_ARGUMENTS, 'BAD_ARGUMENTS', `Invalid query parameter name '${param}'`);
      params.set(param, value);
    } else if (IDENTIFIER.test(name)) {
      settings.set(name, value);
    } else {
      throw new ServerException(UNKNOWN_SETTING, 'UNKNOWN_SETTING', `Unknown setting '${name}'`);
    }
  }
  if (method === 'GET' && !settings.has('readonly')) settings.set('readonly', '2');

  const urlQuery = fields.get('query') ?? '';
  const sql = urlQuery !== '' && bodyText !== '' ? `${urlQuery}\n${bodyText}` : urlQuery || bodyText;
  if (sql.trim() === '') throw new ServerException(SYNTAX_ERROR, 'SYNTAX_ERROR', 'Empty query');
  if (isMultiStatement(sql))
    throw new ServerException(MULTI_STATEMENT_ERROR.code, MULTI_STATEMENT_ERROR.type, MULTI_STATEMENT_ERROR.message);

  const httpCompression = settings.get('enable_http_compression');
  return {
    sql,
    database: fields.get('database') || 'default',
    format: fields.get('default_format') || 'TabSeparated',
    settings,
    params,
    responseCodec: httpCompression === '1' || httpCompression === 'true' ? pickCodec(acceptEncoding) : undefined,
  };
}

function pickCodec(acceptEncoding: string | undefined): Codec | undefined {
  return (acceptEncoding ?? '')
    .split(',')
    .map((entry) => entry.split(';')[0]!.trim().toLowerCase())
    .find(isCodec);
}

function requestCredentials(req: IncomingMessage, fields: URLSearchParams): Credentials | undefined {
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1
      ? { user: decoded, password: '' }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const headerUser = req.headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  const user = fields.get('user');
  return user === null ? undefined : { user, password: fields.get('password') ?? '' };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (!isCodec(encoding)) {
    throw new ServerException(
      BAD_ARGUMENTS,
      'BAD_ARGUMENTS',
      `Unknown HTTP compression method '${encoding}' (supported: gzip, deflate, br)`,
    );
  }
  try {
    return await decompress[encoding](raw);
  } catch (error) {
    throw new ServerException(
      BAD_ARGUMENTS,
      'BAD_ARGUMENTS',
      `Cannot decompress the ${encoding} request body: ${(error as Error).message}`,
    );
  }
}

/** The text fields of a multipart/form-data body (the client sends `query` and `param_*` this way). */
function parseMultipartFields(body: Buffer, contentType: string): [string, string][] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) throw new ServerException(BAD_ARGUMENTS, 'BAD_ARGUMENTS', 'multipart/form-data without a boundary');
  const delimiter = `--${boundary[1] ?? boundary[2]!.trim()}`;
  const fields: [string, string][] = [];
  for (const part of body.toString('utf8').split(delimiter).slice(1)) {
    if (part.startsWith('--')) break;
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd === -1)
      throw new ServerException(BAD_ARGUMENTS, 'BAD_ARGUMENTS', 'malformed multipart/form-data part');
    const headers = part.slice(0, headerEnd);
    if (/filename=/i.test(headers)) {
      throw new ServerException(
        NOT_IMPLEMENTED,
        'NOT_IMPLEMENTED',
        'External data (file parts) is not supported by the chDB HTTP server',
      );
    }
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined)
      throw new ServerException(BAD_ARGUMENTS, 'BAD_ARGUMENTS', 'multipart/form-data part without a name');
    fields.push([name, part.slice(headerEnd + 4).replace(/\r\n$/, '')]);
  }
  return fields;
}

function describeError(error: unknown): { code: number; type: string; text: string } {
  if (error instanceof ServerException) return { code: error.code, type: error.type, text: error.toClickHouseText() };
  const message = error instanceof Error ? error.message : String(error);
  const parsed = parseError(message);
  if (parsed instanceof ClickHouseError) return { code: Number(parsed.code), type: parsed.type ?? '', text: message };
  return {
    code: STD_EXCEPTION,
    type: 'STD_EXCEPTION',
    text: `Code: ${STD_EXCEPTION}. DB::Exception: ${message}. (STD_EXCEPTION)`,
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(text);
}

async function send(
  res: ServerResponse,
  status: number,
  body: Buffer,
  codec: Codec | undefined,
  headers: http.OutgoingHttpHeaders,
): Promise<void> {
  const payload = codec ? await compress[codec](body) : body;
  res
    .writeHead(status, {
      ...headers,
      ...(codec ? { 'Content-Encoding': codec } : {}),
      'Content-Length': payload.length,
    })
    .end(payload);
}

function parseOptions(argv: string[]): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8123' },
      host: { type: 'string', default: '127.0.0.1' },
      path: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string', default: '' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port must be an integer 0–65535, got "${values.port}"`);
  if (!values.path) throw new Error('--path <data directory> is required');
  return {
    host: values.host,
    port,
    path: values.path,
    credentials: values.user === undefined ? undefined : { user: values.user, password: values.password },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const chdbServer = await ChdbHttpServer.open(options.path, options.credentials);
  const server = http.createServer((req, res) => {
    chdbServer.handle(req, res).catch((error: unknown) => {
      console.error('failed to answer a request:', error);
      res.destroy();
    });
  });
  // Longer than the client's default idle-socket TTL (2.5 s), like a server's keep_alive_timeout.
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  console.log(`listening on http://${options.host}:${port}`);

  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    void chdbServer.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
