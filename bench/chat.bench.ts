/**
 * bench:chat — 2,000 connected clients in one room while 20 messages/s are sent: every message
 * must reach every client; send-to-receive latency p50/p99 and delivered messages/s. Measured for
 * the chat gateway (`livepulse start chat-gateway`, embedded mode: JWT auth, flood limits, inline
 * heuristics, publish to the bus, history) and, in the same run, for a bare socket.io server that
 * only broadcasts (bench/chat-bench/bare-server.ts) as the baseline.
 * Targets: p99 <= 150 ms and >= 0.8x the bare server's delivered messages/s.
 *
 * Each server runs in its own process; the viewers are split over CLIENT_PROCESSES child
 * processes; the senders run here. On a machine with two or more cores the server is pinned to
 * core 0 and this process and its client children to the others (taskset), so the clients'
 * work does not land on the server's core; BENCH_PIN_CPUS=0 turns that off. After the last send, the run waits until every delivery has
 * landed (or none has for 5 s); delivered/s is over first send to last delivery. The 1-minute
 * load average is recorded, since other work on the machine moves every figure. Settings: BENCH_CLIENTS (2000), BENCH_RATE (20 msg/s),
 * BENCH_SECONDS (30), BENCH_CLIENT_PROCESSES (2).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { mintChatToken } from '../core/chat/chat-token.ts';
import { encodeNumber, histogramPercentile, merge, newHistogram, nowMs } from './chat-bench/latency-histogram.ts';
import { recordBenchmark, round } from './harness.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2_000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
const SENDERS = 10;
const DRAIN_IDLE_MS = 5_000;
const STREAM = 'bench-stream';
const SECRET = 'bench-chat-secret-0123456789abcdef0123';
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface RunFigures {
  sent: number;
  acked: number;
  expectedDeliveries: number;
  deliveries: number;
  messagesFullyDelivered: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  connectSeconds: number;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${output.slice(-2_000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Server on core 0, clients on the rest: returns the command prefix for the server, after moving
 * this process (and so the children it forks) off core 0. Empty when pinning is off or impossible.
 */
function pinServerApart(): string[] {
  if (process.env.BENCH_PIN_CPUS === '0' || availableParallelism() < 2) return [];
  try {
    execFileSync('taskset', ['-cp', `1-${availableParallelism() - 1}`, String(process.pid)], { stdio: 'ignore' });
    return ['taskset', '-c', '0'];
  } catch {
    return [];
  }
}
const SERVER_PREFIX = pinServerApart();
/** Spawns a server process, pinned to its own core when SERVER_PREFIX says so. */
function spawnServer(args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const [command, ...prefix] = SERVER_PREFIX.length > 0 ? SERVER_PREFIX : [process.execPath];
  return spawn(command!, SERVER_PREFIX.length > 0 ? [...prefix, process.execPath, ...args] : args, options);
}

const token = (sub: string) =>
  mintChatToken({ secret: SECRET, sub, name: sub, roles: { [STREAM]: 'viewer' }, ttlSeconds: 3_600 });

/** Connects the viewers (in child processes) and the senders, sends at RATE for SECONDS, collects. */
async function run(url: string, withTokens: boolean): Promise<RunFigures> {
  const viewerTokens = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => (withTokens ? token(`viewer-${i}`) : Promise.resolve(null))),
  );
  const children = Array.from({ length: CLIENT_PROCESSES }, () =>
    fork(join(repoRoot, 'bench/chat-bench/clients.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const connectStarted = performance.now();
  const share = Math.ceil(CLIENTS / CLIENT_PROCESSES);
  await Promise.all(
    children.map(async (child, i) => {
      const ready = new Promise<void>((resolve, reject) =>
        child.on('message', (m: { type: string; error?: string }) =>
          m.type === 'ready' ? resolve() : m.type === 'failed' ? reject(new Error(m.error)) : undefined,
        ),
      );
      child.send({
        type: 'start',
        url,
        namespace: '/chat',
        streamId: STREAM,
        tokens: viewerTokens.slice(i * share, (i + 1) * share),
      });
      await ready;
    }),
  );
  const connectSeconds = (performance.now() - connectStarted) / 1_000;

  const senders: Socket[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const socket = io(`${url}/chat`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: withTokens ? { token: await token(`sender-${i}`) } : {},
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await socket.timeout(30_000).emitWithAck('join', { streamId: STREAM });
    senders.push(socket);
  }

  let sent = 0;
  let acked = 0;
  const total = RATE * SECONDS;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * RATE) + 1);
      while (sent < due) {
        const seq = sent++;
        senders[seq % SENDERS]!.timeout(30_000)
          .emitWithAck('message', { text: `${encodeNumber(seq)} ${encodeNumber(nowMs() * 1_000)}` })
          .then(
            (ack: { status?: string }) => {
              if (ack?.status === 'delivered') acked++;
            },
            () => undefined,
          );
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const sendStartedAt = performance.timeOrigin + started;
  // Wait until every delivery has landed, or nothing has arrived for DRAIN_IDLE_MS.
  const expected = sent * CLIENTS;
  let delivered = -1;
  let idleSince = performance.now();
  while (performance.now() - idleSince < DRAIN_IDLE_MS) {
    await sleep(500);
    const counts = await Promise.all(
      children.map(
        (child) =>
          new Promise<number>((resolve) => {
            const onProgress = (m: { type: string; deliveries: number }) => {
              if (m.type !== 'progress') return;
              child.off('message', onProgress);
              resolve(m.deliveries);
            };
            child.on('message', onProgress);
            child.send({ type: 'progress' });
          }),
      ),
    );
    const now = counts.reduce((a, b) => a + b, 0);
    if (now !== delivered) idleSince = performance.now();
    delivered = now;
    if (delivered >= expected) break;
  }

  const reports = await Promise.all(
    children.map(async (child) => {
      type Report = {
        type: string;
        deliveries: number;
        lastDeliveryAt: number;
        histogram: number[];
        receivedPerMessage: Record<string, number>;
      };
      const report = new Promise<Report>((resolve) =>
        child.on('message', (m: Report) => m.type === 'report' && resolve(m)),
      );
      child.send({ type: 'stop' });
      const result = await report;
      await stop(child);
      return result;
    }),
  );
  for (const socket of senders) socket.close();

  const histogram = newHistogram();
  const perMessage = new Map<string, number>();
  let deliveries = 0;
  let lastDeliveryAt = sendStartedAt;
  for (const report of reports) {
    lastDeliveryAt = Math.max(lastDeliveryAt, report.lastDeliveryAt);
    merge(histogram, report.histogram);
    deliveries += report.deliveries;
    for (const [tag, count] of Object.entries(report.receivedPerMessage))
      perMessage.set(tag, (perMessage.get(tag) ?? 0) + count);
  }
  return {
    sent,
    acked,
    expectedDeliveries: sent * CLIENTS,
    deliveries,
    messagesFullyDelivered: [...perMessage.values()].filter((count) => count === CLIENTS).length,
    // From the first send to the last delivery: a server that falls behind stretches the window.
    deliveredPerSecond: deliveries / ((lastDeliveryAt - sendStartedAt) / 1_000),
    p50Ms: histogramPercentile(histogram, 50),
    p99Ms: histogramPercentile(histogram, 99),
    connectSeconds,
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-bench-chat-'));
  let gateway: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  try {
    const gatewayPort = await freePort();
    gateway = spawnServer(['bin/livepulse.js', 'start', 'chat-gateway'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(gatewayPort),
        LOG_LEVEL: 'warn',
        LIVEPULSE_DATA_DIR: dataDir,
        LIVEPULSE_JWT_SECRET: SECRET,
        // Many viewers and senders from one address and steady senders: lift the abuse limits.
        CHAT_CONNECTIONS_PER_MINUTE: '100000',
        CHAT_FLOOD_MESSAGES: '100000',
        CHAT_SOCKET_EVENTS_PER_10S: '100000',
      },
    });
    await waitForLine(gateway, /listening on http/, 'chat gateway');
    const ours = await run(`http://127.0.0.1:${gatewayPort}`, true);
    await stop(gateway);

    bare = spawnServer(['--import', 'tsx', 'bench/chat-bench/bare-server.ts'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: '0' },
    });
    let barePort = 0;
    bare.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) barePort = Number(match[1]);
    });
    await waitForLine(bare, /listening \d+/, 'bare socket.io server');
    const baseline = await run(`http://127.0.0.1:${barePort}`, false);

    await recordBenchmark({
      name: 'chat fan-out',
      command: 'npm run bench:chat',
      measured: {
        clients: CLIENTS,
        msgs_per_s_sent: RATE,
        seconds: SECONDS,
        delivered_fraction: round(ours.deliveries / ours.expectedDeliveries),
        acked_delivered: `${ours.acked}/${ours.sent}`,
        messages_reaching_every_client: `${ours.messagesFullyDelivered}/${ours.sent}`,
        delivered_per_s: round(ours.deliveredPerSecond),
        p50_ms: round(ours.p50Ms),
        p99_ms: round(ours.p99Ms),
        connect_s: round(ours.connectSeconds),
        load_avg_1m: round(loadavg()[0]!),
        server_core: SERVER_PREFIX.length > 0 ? 'pinned apart' : 'shared',
      },
      baseline: {
        bare_delivered_fraction: round(baseline.deliveries / baseline.expectedDeliveries),
        bare_messages_reaching_every_client: `${baseline.messagesFullyDelivered}/${baseline.sent}`,
        bare_delivered_per_s: round(baseline.deliveredPerSecond),
        bare_p50_ms: round(baseline.p50Ms),
        bare_p99_ms: round(baseline.p99Ms),
      },
      ratio: { delivered_per_s: round(ours.deliveredPerSecond / baseline.deliveredPerSecond) },
      notes: 'targets: p99 <= 150 ms, delivered/s >= 0.8x bare socket.io',
    });
  } finally {
    await Promise.all([gateway, bare].filter((c): c is ChildProcess => c !== undefined).map(stop));
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
