/**
 * The real services development, tests and CI use on one machine, each as data: how to check its
 * install, how to run it and how to know it answers. A single-node KRaft Kafka broker, Redis, an
 * S3-compatible gateway (versitygw) and the ClickHouse HTTP interface over chDB; `bash
 * infra/local/install.sh` installs them, process-supervisor.ts runs them, docs/local-services.md
 * explains the layout.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';

/** Endpoints of the real services that `livepulse services start` (and test/global-setup.ts) started or found running. */
export interface LocalServiceEndpoints {
  /** host:port of the single-node KRaft broker. */
  kafkaBrokers: string;
  /** redis://127.0.0.1:port */
  redisUrl: string;
  /** The S3-compatible server, with a bucket created for tests. */
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** http://127.0.0.1:port of the ClickHouse HTTP interface served over chDB. */
  clickhouseUrl: string;
}

export type LocalServiceName = 'kafka' | 'redis' | 's3' | 'clickhouse';
export const LOCAL_SERVICE_NAMES: readonly LocalServiceName[] = ['kafka', 'redis', 's3', 'clickhouse'];

/** A service failed to start or is not installed; the message says what to do. */
export class LocalServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalServiceError';
  }
}

export const HOST = '127.0.0.1';
export const INSTALL_COMMAND = 'bash infra/local/install.sh';
const S3_CREDENTIALS = { accessKeyId: 'livepulse', secretAccessKey: 'livepulse-local-secret' };
const S3_BUCKET = 'livepulse-test';
const S3_REGION = 'us-east-1';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// Must match install.sh.
const cacheDir =
  process.env.LIVEPULSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'livepulse');

export interface Launch {
  command: string;
  args: string[];
  version: string;
}

/** How to install-check, run and probe one local service. */
export interface LocalServiceDefinition {
  name: LocalServiceName;
  portCount: number;
  readyTimeoutMs: number;
  /** Checks the install, writes config and prepares storage; returns how to run the server. */
  prepare(dir: string, ports: number[], logPath: string): Promise<Launch>;
  endpoints(ports: number[]): Partial<LocalServiceEndpoints>;
  /** Resolves once the service really serves requests; throws otherwise. */
  probe(endpoints: Partial<LocalServiceEndpoints>): Promise<void>;
}

export const LOCAL_SERVICES: Record<LocalServiceName, LocalServiceDefinition> = {
  kafka: {
    name: 'kafka',
    portCount: 2,
    // A cold JVM formats storage and elects itself controller; on 2 busy cores that can take a while.
    readyTimeoutMs: 120_000,
    async prepare(dir, [port, controllerPort], logPath) {
      const { KAFKA_VERSION } = await installedVersions();
      const libs = join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
      if (!existsSync(join(libs, '.complete'))) throw notInstalled(`Apache Kafka ${KAFKA_VERSION}`, libs);
      const properties = join(dir, 'server.properties');
      const dataDir = join(dir, 'data');
      await writeFile(properties, kafkaServerProperties(port!, controllerPort!, dataDir));
      const classpath = ['-cp', `${libs}/*`];
      const logging = `-Dlog4j2.configurationFile=${join(repoRoot, 'infra/local/kafka/log4j2.properties')}`;
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        const output = await runTool(
          'java',
          [
            logging,
            ...classpath,
            'kafka.tools.StorageTool',
            'format',
            '--cluster-id',
            kafkaClusterId(),
            '--config',
            properties,
          ],
          'Kafka needs Java 17 or newer',
        );
        await appendFile(logPath, output);
      }
      return {
        command: 'java',
        args: [
          '-Xms256m',
          '-Xmx512m',
          '-XX:+ExitOnOutOfMemoryError',
          '-Djava.awt.headless=true',
          logging,
          ...classpath,
          'kafka.Kafka',
          properties,
        ],
        version: `Apache Kafka ${KAFKA_VERSION} (KRaft)`,
      };
    },
    endpoints: ([port]) => ({ kafkaBrokers: `${HOST}:${port}` }),
    async probe({ kafkaBrokers }) {
      const admin = new Kafka({
        clientId: 'livepulse-local-services',
        brokers: [kafkaBrokers!],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1_000,
        requestTimeout: 5_000,
        retry: { retries: 0 },
      }).admin();
      try {
        await admin.connect();
        await admin.listTopics();
        // Finding a group coordinator needs __consumer_offsets, which the first call creates:
        // waiting for it here spares the first consumer group of a test run its retries.
        await admin.describeGroups(['livepulse-readiness']);
      } finally {
        await admin.disconnect();
      }
    },
  },

  redis: {
    name: 'redis',
    portCount: 1,
    readyTimeoutMs: 30_000,
    async prepare(dir, [port]) {
      const versionLine = await runTool('redis-server', ['--version'], `install it with: ${INSTALL_COMMAND}`);
      const version = /v=(\S+)/.exec(versionLine)?.[1] ?? 'unknown';
      return {
        command: 'redis-server',
        // A cache for tests and development: nothing is persisted.
        args: [
          '--port',
          String(port),
          '--bind',
          HOST,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--dir',
          dir,
        ],
        version: `Redis ${version}`,
      };
    },
    endpoints: ([port]) => ({ redisUrl: `redis://${HOST}:${port}` }),
    probe: ({ redisUrl }) => redisAnswersPing(Number(new URL(redisUrl!).port)),
  },

  s3: {
    name: 's3',
    portCount: 1,
    readyTimeoutMs: 30_000,
    async prepare(dir, [port]) {
      const { VERSITYGW_VERSION } = await installedVersions();
      const binary = join(cacheDir, `versitygw-${VERSITYGW_VERSION}`, 'bin', 'versitygw');
      if (!existsSync(binary)) throw notInstalled(`versitygw ${VERSITYGW_VERSION}`, binary);
      const buckets = join(dir, 'buckets');
      // Object metadata goes to a sidecar directory rather than xattrs, which not every filesystem has.
      const metadata = join(dir, 'metadata');
      await mkdir(buckets, { recursive: true });
      await mkdir(metadata, { recursive: true });
      return {
        command: binary,
        args: [
          '--access',
          S3_CREDENTIALS.accessKeyId,
          '--secret',
          S3_CREDENTIALS.secretAccessKey,
          '--port',
          `${HOST}:${port}`,
          '--region',
          S3_REGION,
          '--quiet',
          'posix',
          '--sidecar',
          metadata,
          buckets,
        ],
        version: `versitygw ${VERSITYGW_VERSION} (posix backend)`,
      };
    },
    endpoints: ([port]) => ({
      s3: { endpoint: `http://${HOST}:${port}`, bucket: S3_BUCKET, region: S3_REGION, ...S3_CREDENTIALS },
    }),
    probe: ({ s3 }) => ensureBucket(s3!),
  },

  clickhouse: {
    name: 'clickhouse',
    portCount: 1,
    readyTimeoutMs: 60_000,
    prepare(dir, [port]) {
      const server = join(repoRoot, 'infra/local/clickhouse-http-server.ts');
      if (!existsSync(server))
        return Promise.reject(new LocalServiceError(`clickhouse: ${server} is missing from this checkout`));
      // tsx is resolved here rather than by the child, whose working directory may be outside the repo.
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
      return Promise.resolve({
        command: process.execPath,
        args: ['--import', tsx, server, '--port', String(port), '--path', join(dir, 'data')],
        version: 'ClickHouse HTTP interface over chDB',
      });
    },
    endpoints: ([port]) => ({ clickhouseUrl: `http://${HOST}:${port}` }),
    async probe({ clickhouseUrl }) {
      const response = await fetch(`${clickhouseUrl}/ping`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.text()).trim();
      if (body !== 'Ok.') throw new Error(`GET /ping answered ${response.status} "${body}"`);
    },
  },
};

function kafkaServerProperties(port: number, controllerPort: number, dataDir: string): string {
  return `${[
    // Combined broker + controller with a static one-voter quorum: the controller's port may
    // change between starts, which a quorum formatted with --standalone would not allow.
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=4',
    'auto.create.topics.enable=true',
    // One broker: internal topics cannot be replicated, and few partitions start fast.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests join consumer groups constantly; waiting for more members only slows them down.
    'group.initial.rebalance.delay.ms=0',
  ].join('\n')}\n`;
}

/**
 * Kafka's cluster ids are 16 random bytes in unpadded base64url, as `kafka-storage random-uuid`
 * prints. Like Kafka's own `Uuid.randomUuid()`, never one that starts with "-": the storage tool
 * would read it as an option ("argument --cluster-id: expected one argument").
 */
export function kafkaClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function redisAnswersPing(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('no answer to PING within 2s')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (!reply.includes('\r\n')) return;
      socket.end();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`PING answered ${reply.trim()}`));
    });
  });
}

/** Ready means the test bucket exists: it is created on first start. */
async function ensureBucket(s3: LocalServiceEndpoints['s3']): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
      await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
    }
  } finally {
    client.destroy();
  }
}

let versions: Promise<Record<string, string>> | undefined;

/** infra/local/versions.env, which install.sh installs from. */
function installedVersions(): Promise<Record<string, string>> {
  versions ??= readFile(join(repoRoot, 'infra/local/versions.env'), 'utf8').then((text) =>
    Object.fromEntries(
      text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    ),
  );
  return versions;
}

function notInstalled(what: string, path: string): LocalServiceError {
  return new LocalServiceError(`${what} is not installed (${path} is missing); run: ${INSTALL_COMMAND}`);
}

/** Runs a short-lived tool and returns its output; a missing tool or a failure says which. */
async function runTool(command: string, args: string[], hint: string): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new LocalServiceError(`${command} not found on PATH; ${hint}`);
    const output = error as { stdout?: string; stderr?: string };
    throw new LocalServiceError(
      `${command} ${args.join(' ')} failed: ${errorMessage(error)}\n${output.stdout ?? ''}${output.stderr ?? ''}`,
    );
  }
}

/** The endpoint of a service, for progress lines. */
export function describeEndpoint(endpoints: Partial<LocalServiceEndpoints>): string {
  if (endpoints.kafkaBrokers) return endpoints.kafkaBrokers;
  if (endpoints.redisUrl) return endpoints.redisUrl;
  if (endpoints.s3) return `${endpoints.s3.endpoint} bucket ${endpoints.s3.bucket}`;
  return endpoints.clickhouseUrl ?? '';
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
