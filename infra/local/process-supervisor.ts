/**
 * Starts, finds and stops the local services of service-definitions.ts (docs/local-services.md).
 *
 * Each service runs detached on 127.0.0.1 on ports the OS picked, with its data, log and a
 * `service.json` (pid, ports, version) under the state directory. A later call reuses a recorded
 * instance that still answers, so tests and `livepulse services start` share one set of servers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  describeEndpoint,
  errorCode,
  errorMessage,
  HOST,
  INSTALL_COMMAND,
  LOCAL_SERVICE_NAMES,
  LOCAL_SERVICES,
  LocalServiceError,
  repoRoot,
  type LocalServiceDefinition,
  type LocalServiceEndpoints,
  type LocalServiceName,
} from './service-definitions.ts';

export const defaultStateDir = join(repoRoot, '.livepulse', 'local');

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

/** What service.json records about a running service: enough to find, reuse and stop it. */
interface ServiceRecord {
  name: LocalServiceName;
  pid: number;
  /** The service's own port first (Kafka's controller port second). */
  ports: number[];
  version: string;
  startedAt: string;
}

/**
 * Makes sure the named services run and answer, reusing recorded healthy instances and starting
 * the rest in parallel. On any failure, whatever this call started is stopped again.
 */
export async function startLocalServices(
  names: LocalServiceName[],
  options: LocalServicesOptions = {},
): Promise<StartedServices> {
  const stateDir = options.stateDir ?? defaultStateDir;
  const log = options.log ?? (() => {});
  const unique = [...new Set(names)];
  for (const name of unique) {
    if (!LOCAL_SERVICES[name])
      throw new LocalServiceError(`unknown service "${name}" (known: ${LOCAL_SERVICE_NAMES.join(', ')})`);
  }
  return withStateLock(stateDir, async () => {
    const outcomes = await Promise.allSettled(unique.map((name) => ensureService(LOCAL_SERVICES[name], stateDir)));
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
      const serviceEndpoints = LOCAL_SERVICES[record.name].endpoints(record.ports);
      Object.assign(endpoints, serviceEndpoints);
      const how = wasStarted ? `started in ${(elapsedMs / 1000).toFixed(1)}s` : 'reused';
      log(`${record.name}: ${how}, ${record.version}, pid ${record.pid}, ${describeEndpoint(serviceEndpoints)}`);
    }
    const lease = await takeLease(stateDir, unique);
    return {
      endpoints,
      stop: () =>
        withStateLock(stateDir, async () => {
          await rm(lease, { force: true });
          const others = await liveLeases(stateDir);
          await Promise.all(
            started.map(async (record) => {
              const user = others.find((other) => other.services.includes(record.name));
              if (user) log(`${record.name}: left running, pid ${user.pid} still uses it`);
              else await stopService(record, stateDir);
            }),
          );
        }),
    };
  });
}

/** Stops the services recorded in the state directory (all by default), whoever started them. */
export async function stopLocalServices(
  stateDir: string = defaultStateDir,
  names: readonly LocalServiceName[] = LOCAL_SERVICE_NAMES,
): Promise<void> {
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
    if (recorded && (await isServiceProcess(recorded.pid, join(stateDir, name))))
      throw new LocalServiceError(`${name} is still running (pid ${recorded.pid})`);
    await launch(LOCAL_SERVICES[name], stateDir, [port]);
  });
}

export async function localServicesStatus(stateDir: string = defaultStateDir): Promise<LocalServiceStatus[]> {
  return Promise.all(
    LOCAL_SERVICE_NAMES.map(async (name): Promise<LocalServiceStatus> => {
      const dir = join(stateDir, name);
      const logPath = join(dir, `${name}.log`);
      const record = await readRecord(stateDir, name);
      if (!record || !(await isServiceProcess(record.pid, dir))) return { name, state: 'stopped', logPath };
      const endpoints = LOCAL_SERVICES[name].endpoints(record.ports);
      const answers = await LOCAL_SERVICES[name].probe(endpoints).then(
        () => true,
        () => false,
      );
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

async function ensureService(
  service: LocalServiceDefinition,
  stateDir: string,
): Promise<{ record: ServiceRecord; started: boolean; elapsedMs: number }> {
  const dir = join(stateDir, service.name);
  const recorded = await readRecord(stateDir, service.name);
  if (recorded) {
    if ((await isServiceProcess(recorded.pid, dir)) && (await answersWithin(service, recorded, dir))) {
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
async function answersWithin(service: LocalServiceDefinition, record: ServiceRecord, dir: string): Promise<boolean> {
  const endpoints = service.endpoints(record.ports);
  const deadline = Date.now() + service.readyTimeoutMs;
  while (true) {
    if (
      await service.probe(endpoints).then(
        () => true,
        () => false,
      )
    )
      return true;
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
async function launch(
  service: LocalServiceDefinition,
  stateDir: string,
  fixedPorts: number[] = [],
): Promise<ServiceRecord> {
  for (let attempt = 1; ; attempt++) {
    const ports = [...fixedPorts, ...(await freePorts(service.portCount - fixedPorts.length))];
    try {
      return await launchOn(service, stateDir, ports);
    } catch (error) {
      if (!(error instanceof PortTakenError) || fixedPorts.length === service.portCount || attempt === LAUNCH_ATTEMPTS)
        throw error;
    }
  }
}

async function launchOn(service: LocalServiceDefinition, stateDir: string, ports: number[]): Promise<ServiceRecord> {
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
    child.once('error', (error) =>
      reject(
        new LocalServiceError(
          `${service.name}: could not run ${command}: ${error.message}; check the install with: ${INSTALL_COMMAND}`,
        ),
      ),
    );
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `code ${code}`;
  });
  child.unref();

  const record: ServiceRecord = {
    name: service.name,
    pid: child.pid!,
    ports,
    version,
    startedAt: new Date().toISOString(),
  };
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
  if ((await readRecord(stateDir, record.name))?.pid === record.pid)
    await rm(join(dir, 'service.json'), { force: true });
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
  const leases = await Promise.all(
    files.map(async (file) => {
      const path = join(dir, file);
      const lease = JSON.parse(await readFile(path, 'utf8')) as Lease;
      if (isAlive(lease.pid)) return [lease];
      await rm(path, { force: true });
      return [];
    }),
  );
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
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function logTail(logPath: string, lines = 40): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `Last lines of ${logPath}:\n${tail}` : `${logPath} is empty.`;
}
