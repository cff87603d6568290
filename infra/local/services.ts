/**
 * Starts, finds and stops the real services that development, tests and CI use on one machine:
 * a single-node KRaft Kafka broker, Redis, an S3-compatible gateway (versitygw) and the ClickHouse
 * HTTP interface over chDB. `bash infra/local/install.sh` installs them; docs/local-services.md
 * explains the layout.
 *
 * Each service runs detached on 127.0.0.1 on ports the OS picked, with its data, log and a
 * `service.json` (pid, ports, version) under the state directory. A later call reuses a recorded
 * instance that still answers, so tests and `livepulse services start` share one set of servers.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
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

export interface StartedServices {
  endpoints: Partial<LocalServiceEndpoints>;
  /** Stops only the services that this call started; reused ones stay up. */
  stop(): Promise<void>;
}

export interface LocalServicesOptions {
  /** Where data, logs and service.json files live; defaults to `.livepulse/local/` in the repo. */
  stateDir?: string;
  /** Receives one line per service: started or reused, its version and endpoint. */
  log?: (line: string) => void;
}

export interface LocalServiceStatus {
  name: LocalServiceName;
  state: 'running' | 'not answering' | 'stopped';
  pid?: number;
  version?: string;
  endpoints?: Partial<LocalServiceEndpoints>;
  logPath: string;
}

/** A service failed to start or is not installed; the message says what to do. */
export class LocalServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalServiceError';
  }
}

const HOST = '127.0.0.1';
const INSTALL_COMMAND = 'bash infra/local/install.sh';
const S3_CREDENTIALS = { accessKeyId: 'livepulse', secretAccessKey: 'livepulse-local-secret' };
const S3_BUCKET = 'livepulse-test';
const S3_REGION = 'us-east-1';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const defaultStateDir = join(repoRoot, '.livepulse', 'local');
// Must match install.sh.
const cacheDir = process.env.LIVEPULSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'livepulse');

/** What service.json records about a running service: enough to find, reuse and stop it. */
interface ServiceRecord {
  name: LocalServiceName;
  pid: number;
  /** The service's own port first (Kafka's controller port second). */
  ports: number[];
  version: string;
  startedAt: string;
}

interface Launch {
  command: string;
  args: string[];
  version: string;
}

interface ServiceDefinition {
  name: LocalServiceName;
  portCount: number;
  readyTimeoutMs: number;
  /** Checks the install, writes config and prepares storage; returns how to run the server. */
  prepare(dir: string, ports: number[], logPath: string): Promise<Launch>;
  endpoints(ports: number[]): Partial<LocalServiceEndpoints>;
  /** Resolves once the service really serves requests; throws otherwise. */
  probe(endpoints: Partial<LocalServiceEndpoints>): Promise<void>;
}

const SERVICES: Record<LocalServiceName, ServiceDefinition> = {
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
        const output = await runTool('java', [logging, ...classpath, 'kafka.tools.StorageTool', 'format', '--cluster-id', kafkaClusterId(), '--config', properties], 'Kafka needs Java 17 or newer');
        await appendFile(logPath, output);
      }
      return {
        command: 'java',
        args: ['-Xms256m', '-Xmx512m', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', logging, ...classpath, 'kafka.Kafka', properties],
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
        args: ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
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
          '--access', S3_CREDENTIALS.accessKeyId, '--secret', S3_CREDENTIALS.secretAccessKey,
          '--port', `${HOST}:${port}`, '--region', S3_REGION, '--quiet',
          'posix', '--sidecar', metadata, buckets,
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
    async prepare(dir, [port]) {
      const server = join(repoRoot, 'infra/local/clickhouse-http-server.ts');
      if (!existsSync(server)) throw new LocalServiceError(`clickhouse: ${server} is missing from this checkout`);
      // tsx is resolved here rather than by the child, whose working directory may be outside the repo.
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
      return {
        command: process.execPath,
        args: ['--import', tsx, server, '--port', String(port), '--path', join(dir, 'data')],
        version: 'ClickHouse HTTP interface over chDB',
      };
    },
    endpoints: ([port]) => ({ clickhouseUrl: `http://${HOST}:${port}` }),
    async probe({ clickhouseUrl }) {
      const response = await fetch(`${clickhouseUrl}/ping`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.text()).trim();
      if (body !== 'Ok.') throw new Error(`GET /ping answered ${response.status} "${body}"`);
    },
  },
};

/**
 * Makes sure the named services run and answer, reusing recorded healthy instances and starting
 * the rest in parallel. On any failure, whatever this call started is stopped again.
 */
export async function startLocalServices(names: LocalServiceName[], options: LocalServicesOptions = {}): Promise<StartedServices> {
  const stateDir = options.stateDir ?? defaultStateDir;
  const log = options.log ?? (() => {});
  const unique = [...new Set(names)];
  for (const name of unique) {
    if (!SERVICES[name]) throw new LocalServiceError(`unknown service "${name}" (known: ${LOCAL_SERVICE_NAMES.join(', ')})`);
  }
  return withStateLock(stateDir, async () => {
    const outcomes = await Promise.allSettled(unique.map((name) => ensureService(SERVICES[name], stateDir)));
    const started = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.started ? [o.value.record] : []));
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    if (failures.length > 0) {
      await Promise.all(started.map((record) => stopService(record, stateDir)));
      throw failures.length === 1 ? failures[0] : new LocalServiceError(failures.map(errorMessage).join('\n\n'));
    }
    const endpoints: Partial<LocalServiceEndpoints> = {};
    for (const outcome of outcomes) {
      if (outcome.status !== 'fulfilled') continue;
      const { record, started: wasStarted, elapsedMs } = outcome.value;
      const serviceEndpoints = SERVICES[record.name].endpoints(record.ports);
      Object.assign(endpoints, serviceEndpoints);
      const how = wasStarted ? `started in ${(elapsedMs / 1000).toFixed(1)}s` : 'reused';
      log(`${record.name}: ${how}, ${record.version}, pid ${record.pid}, ${describeEndpoint(serviceEndpoints)}`);
    }
    const lease = await takeLease(stateDir, unique);
    return {
      endpoints,
      stop: () => withStateLock(stateDir, async () => {
        await rm(lease, { force: true });
        const others = await liveLeases(stateDir);
        await Promise.all(started.map(async (record) => {
          const user = others.find((other) => other.services.includes(record.name));
          if (user) log(`${record.name}: left running, pid ${user.pid} still uses it`);
          else await stopService(record, stateDir);
        }));
      }),
    };
  });
}

/** Stops the services recorded in the state directory (all by default), whoever started them. */
export async function stopLocalServices(stateDir: string = defaultStateDir, names: readonly LocalServiceName[] = LOCAL_SERVICE_NAMES): Promise<void> {
  await withStateLock(stateDir, async () => {
    const records = await Promise.all(names.map((name) => readRecord(stateDir, name)));
    await Promise.all(records.flatMap((record) => (record ? [stopService(record, stateDir)] : [])));
  });
}

/**
 * Starts a stopped service of `stateDir` again on its old main port, keeping its data, so clients
 * that know its endpoint reconnect to it: fault-injection tests stop a broker with
 * `stopLocalServices` and bring it back with this.
 */
export async function relaunchLocalService(name: LocalServiceName, stateDir: string, port: number): Promise<void> {
  await withStateLock(stateDir, async () => {
    const recorded = await readRecord(stateDir, name);
    if (recorded && (await isServiceProcess(recorded.pid, join(stateDir, name)))) throw new LocalServiceError(`${name} is still running (pid ${recorded.pid})`);
    await launch(SERVICES[name], stateDir, [port]);
  });
}

export async function localServicesStatus(stateDir: string = defaultStateDir): Promise<LocalServiceStatus[]> {
  return Promise.all(
    LOCAL_SERVICE_NAMES.map(async (name): Promise<LocalServiceStatus> => {
      const dir = join(stateDir, name);
      const logPath = join(dir, `${name}.log`);
      const record = await readRecord(stateDir, name);
      if (!record || !(await isServiceProcess(record.pid, dir))) return { name, state: 'stopped', logPath };
      const endpoints = SERVICES[name].endpoints(record.ports);
      const answers = await SERVICES[name].probe(endpoints).then(() => true, () => false);
      return {
        name,
        state: answers ? 'running' : 'not answering',
        pid: record.pid,
        version: record.version,
        endpoints,
        logPath,
      };
    }),
  );
}

/**
 * `livepulse services start [names…] | stop [names…] | status`: progress goes to stderr and the
 * endpoints to stdout as env lines, so `set -a; . <(livepulse services start)` points a shell at them.
 */
export async function runServicesCommand(action: 'start' | 'stop' | 'status', requested: string[]): Promise<number> {
  const stderr = (line: string) => process.stderr.write(`${line}\n`);
  const unknown = requested.filter((name) => !LOCAL_SERVICE_NAMES.includes(name as LocalServiceName));
  if (unknown.length > 0) {
    stderr(`unknown service ${unknown.join(', ')}; known: ${LOCAL_SERVICE_NAMES.join(', ')}`);
    return 2;
  }
  const names = requested.length > 0 ? (requested as LocalServiceName[]) : [...LOCAL_SERVICE_NAMES];
  try {
    switch (action) {
      case 'start': {
        const { endpoints } = await startLocalServices(names, { log: stderr });
        process.stdout.write(envLines(endpoints));
        return 0;
      }
      case 'stop':
        await stopLocalServices(defaultStateDir, names);
        stderr(`stopped ${names.join(', ')}`);
        return 0;
      case 'status': {
        const statuses = await localServicesStatus();
        const endpoints: Partial<LocalServiceEndpoints> = {};
        for (const status of statuses) {
          const detail = status.endpoints ? `  pid ${status.pid}  ${describeEndpoint(status.endpoints)}  ${status.version}` : '';
          stderr(`${status.name.padEnd(10)} ${status.state}${detail}`);
          if (status.state === 'running') Object.assign(endpoints, status.endpoints);
        }
        process.stdout.write(envLines(endpoints));
        return statuses.some((s) => s.state === 'not answering') ? 1 : 0;
      }
    }
  } catch (error) {
    stderr(errorMessage(error));
    return 1;
  }
}

/** The environment that points Livepulse's config (core/config.ts) at these services. */
export function envLines(endpoints: Partial<LocalServiceEndpoints>): string {
  const lines: string[] = [];
  if (endpoints.kafkaBrokers) lines.push(`KAFKA_BROKERS=${endpoints.kafkaBrokers}`);
  if (endpoints.redisUrl) lines.push(`REDIS_URL=${endpoints.redisUrl}`);
  if (endpoints.s3) {
    lines.push(
      `S3_ENDPOINT=${endpoints.s3.endpoint}`,
      `S3_BUCKET=${endpoints.s3.bucket}`,
      `S3_REGION=${endpoints.s3.region}`,
      'S3_FORCE_PATH_STYLE=true',
      `AWS_ACCESS_KEY_ID=${endpoints.s3.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${endpoints.s3.secretAccessKey}`,
    );
  }
  if (endpoints.clickhouseUrl) lines.push(`CLICKHOUSE_URL=${endpoints.clickhouseUrl}`);
  return lines.map((line) => `${line}\n`).join('');
}

async function ensureService(
  service: ServiceDefinition,
  stateDir: string,
): Promise<{ record: ServiceRecord; started: boolean; elapsedMs: number }> {
  const dir = join(stateDir, service.name);
  const recorded = await readRecord(stateDir, service.name);
  if (recorded) {
    if (await isServiceProcess(recorded.pid, dir) && (await answersWithin(service, recorded, dir))) {
      return { record: recorded, started: false, elapsedMs: 0 };
    }
    // Dead, or alive but not answering for a whole ready timeout (hung): replace it.
    await stopService(recorded, stateDir);
  }
  const startedAt = Date.now();
  const record = await launch(service, stateDir);
  return { record, started: true, elapsedMs: Date.now() - startedAt };
}

/**
 * A live instance that misses one probe is usually just slow (a loaded machine, a broker busy
 * electing): keep asking for up to its ready timeout rather than replacing it, which would
 * pull it from under every other test process using it.
 */
async function answersWithin(service: ServiceDefinition, record: ServiceRecord, dir: string): Promise<boolean> {
  const endpoints = service.endpoints(record.ports);
  const deadline = Date.now() + service.readyTimeoutMs;
  while (true) {
    if (await service.probe(endpoints).then(() => true, () => false)) return true;
    if (Date.now() > deadline || !(await isServiceProcess(record.pid, dir))) return false;
    await sleep(1_000);
  }
}

/** A service exited while starting because a port it was given is taken. */
class PortTakenError extends LocalServiceError {}

const PORT_TAKEN = /EADDRINUSE|address already in use/i;
const LAUNCH_ATTEMPTS = 3;

/**
 * Launches a service on `fixedPorts` (first: a relaunch keeps its endpoint) plus free ones. A free
 * port can be taken between choosing it and the service binding it (by another process on the
 * machine); the launch then chooses again, unless every port was fixed.
 */
async function launch(service: ServiceDefinition, stateDir: string, fixedPorts: number[] = []): Promise<ServiceRecord> {
  for (let attempt = 1; ; attempt++) {
    const ports = [...fixedPorts, ...(await freePorts(service.portCount - fixedPorts.length))];
    try {
      return await launchOn(service, stateDir, ports);
    } catch (error) {
      if (!(error instanceof PortTakenError) || fixedPorts.length === service.portCount || attempt === LAUNCH_ATTEMPTS) throw error;
    }
  }
}

async function launchOn(service: ServiceDefinition, stateDir: string, ports: number[]): Promise<ServiceRecord> {
  const dir = join(stateDir, service.name);
  await mkdir(dir, { recursive: true });
  const logPath = join(dir, `${service.name}.log`);
  await writeFile(logPath, '');
  const { command, args, version } = await service.prepare(dir, ports, logPath);

  const logFd = openSync(logPath, 'a');
  // Its own process group (detached), so stop can end the service and anything it forked.
  const child = spawn(command, args, { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new LocalServiceError(`${service.name}: could not run ${command}: ${error.message}; check the install with: ${INSTALL_COMMAND}`)));
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `code ${code}`;
  });
  child.unref();

  const record: ServiceRecord = { name: service.name, pid: child.pid!, ports, version, startedAt: new Date().toISOString() };
  // Recorded before it is ready, so a start that is interrupted can still be stopped later.
  await writeFile(join(dir, 'service.json'), `${JSON.stringify(record, null, 2)}\n`);

  const endpoints = service.endpoints(ports);
  const deadline = Date.now() + service.readyTimeoutMs;
  let lastError: unknown;
  while (true) {
    if (exit) {
      await rm(join(dir, 'service.json'), { force: true });
      const tail = await logTail(logPath);
      const message = `${service.name}: ${command} exited with ${exit} while starting.\n${tail}`;
      throw PORT_TAKEN.test(tail) ? new PortTakenError(message) : new LocalServiceError(message);
    }
    try {
      await service.probe(endpoints);
      return record;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  await stopService(record, stateDir);
  throw new LocalServiceError(
    `${service.name}: not ready after ${service.readyTimeoutMs / 1000}s (last check: ${errorMessage(lastError)}).\n${await logTail(logPath)}`,
  );
}

/** Ends the service's process group (SIGTERM, then SIGKILL after 30s), waits for it, forgets it. */
async function stopService(record: ServiceRecord, stateDir: string): Promise<void> {
  const dir = join(stateDir, record.name);
  if (await isServiceProcess(record.pid, dir)) {
    signalGroup(record.pid, 'SIGTERM');
    if (!(await groupExited(record.pid, 30_000))) {
      signalGroup(record.pid, 'SIGKILL');
      await groupExited(record.pid, 5_000);
    }
  }
  // Another caller may have replaced a dead instance since; its record stays.
  if ((await readRecord(stateDir, record.name))?.pid === record.pid) await rm(join(dir, 'service.json'), { force: true });
}

/** A caller that started or reused services and has not stopped them yet. */
interface Lease {
  pid: number;
  services: LocalServiceName[];
}

/**
 * Test runs in parallel (two checkouts' vitest, a watch run) share one set of services; a lease
 * keeps the run that started a service from stopping it under another run that still uses it.
 */
async function takeLease(stateDir: string, services: LocalServiceName[]): Promise<string> {
  const dir = join(stateDir, 'leases');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  const lease: Lease = { pid: process.pid, services };
  await writeFile(path, JSON.stringify(lease));
  return path;
}

/** The leases whose process is still alive; those of exited processes are removed. */
async function liveLeases(stateDir: string): Promise<Lease[]> {
  const dir = join(stateDir, 'leases');
  const files = await readdir(dir).catch(() => []);
  const leases = await Promise.all(files.map(async (file) => {
    const path = join(dir, file);
    const lease = JSON.parse(await readFile(path, 'utf8')) as Lease;
    if (isAlive(lease.pid)) return [lease];
    await rm(path, { force: true });
    return [];
  }));
  return leases.flat();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') throw error;
  }
}

async function groupExited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(-pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Whether `pid` is still the service we started rather than an unrelated process that got the
 * same pid later: every service runs with its state directory as working directory.
 */
async function isServiceProcess(pid: number, dir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  try {
    // The kernel reports the resolved cwd; a checkout whose .livepulse is a symlink (a git
    // worktree sharing the main checkout's services) must compare resolved paths too.
    return (await readlink(`/proc/${pid}/cwd`)).startsWith(await realpath(dir).catch(() => dir));
  } catch (error) {
    // Without /proc (macOS) a live pid is the best evidence there is.
    return errorCode(error) === 'ENOENT' && !existsSync('/proc/self');
  }
}

async function readRecord(stateDir: string, name: LocalServiceName): Promise<ServiceRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, name, 'service.json'), 'utf8')) as ServiceRecord;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * One start or stop at a time per state directory, across processes (a test run and a developer's
 * `services start` must not both launch a broker). A lock left by a dead process is taken over.
 */
async function withStateLock<T>(stateDir: string, work: () => Promise<T>): Promise<T> {
  await mkdir(stateDir, { recursive: true });
  const lockPath = join(stateDir, 'lock');
  const deadline = Date.now() + 5 * 60_000;
  while (true) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // An empty file is a lock being written right now, not a stale one.
    if (holder > 0 && !isAlive(holder)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new LocalServiceError(`${lockPath} has been held by pid ${holder} for 5 minutes`);
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** Ports this process handed out: services launched side by side must not be given the same one. */
const handedOutPorts = new Set<number>();

async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    for (const port of await unusedPorts(count - ports.length)) {
      if (handedOutPorts.has(port)) continue;
      handedOutPorts.add(port);
      ports.push(port);
    }
  }
  return ports;
}

/**
 * Ports nothing listens on now, chosen by the kernel, all held until every one is known so they
 * are distinct (once closed, the kernel may hand the same one out again).
 */
async function unusedPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

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
    throw new LocalServiceError(`${command} ${args.join(' ')} failed: ${errorMessage(error)}\n${output.stdout ?? ''}${output.stderr ?? ''}`);
  }
}

async function logTail(logPath: string, lines = 40): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `Last lines of ${logPath}:\n${tail}` : `${logPath} is empty.`;
}

function describeEndpoint(endpoints: Partial<LocalServiceEndpoints>): string {
  if (endpoints.kafkaBrokers) return endpoints.kafkaBrokers;
  if (endpoints.redisUrl) return endpoints.redisUrl;
  if (endpoints.s3) return `${endpoints.s3.endpoint} bucket ${endpoints.s3.bucket}`;
  return endpoints.clickhouseUrl ?? '';
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// `node --import tsx infra/local/services.ts start|stop|status [names…]` works without the CLI too.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [action, ...names] = process.argv.slice(2);
  if (action === 'start' || action === 'stop' || action === 'status') process.exitCode = await runServicesCommand(action, names);
  else {
    process.stderr.write('usage: services.ts start|stop [kafka redis s3 clickhouse] | status\n');
    process.exitCode = 2;
  }
}
