import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from './wait-for.ts';

/** A port the OS reports free right now (released again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * One `livepulse start <services…>` process, as deployed, that a test can kill and start again.
 * It runs in a process group of its own, so SIGKILL also ends what it spawned (ffmpeg), as a
 * crashed container would. Its JSON log lines can be awaited; the last few KB are kept for errors.
 */
export class LivepulseProcess {
  private child: ChildProcess | null = null;
  private output = '';
  private partialLine = '';
  private readonly lineListeners = new Set<(record: Record<string, unknown>) => void>();
  url = '';
  kills = 0;
  /** Exits nobody asked for, with the output before them. */
  readonly unexpectedExits: string[] = [];
  private stopping = false;

  private port: number | null = null;

  /** `samePort`: every restart listens where the first start did, as a deployment's address stays (clients retry meanwhile). */
  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    readonly services: string[] = [name],
    private readonly options: { samePort?: boolean } = {},
  ) {}

  async start(): Promise<void> {
    const port = (this.options.samePort ? this.port : null) ?? (await freePort());
    this.port = port;
    // A fresh output: "listening on" from the previous run must not count for this one.
    this.output = '';
    this.partialLine = '';
    const child = spawn(process.execPath, ['bin/livepulse.js', 'start', ...this.services], {
      env: { ...process.env, ...this.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    // Output a killed run still flushes belongs to that run, not to this one.
    const keep = (chunk: Buffer) => {
      if (this.child === child) this.output = (this.output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (this.child === child) this.readLines(chunk);
    });
    child.stderr.on('data', keep);
    this.stopping = false;
    child.once('exit', (code, signal) => {
      if (!this.stopping)
        this.unexpectedExits.push(
          `${this.name} exited (${signal ?? code}) at ${new Date().toISOString()}: ${this.output}`,
        );
    });
    await waitFor(
      `${this.name} to listen`,
      () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}: ${this.output}`);
        return this.output.includes('listening on');
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Resolves with the first log record from now on that matches. */
  logged(
    what: string,
    matches: (record: Record<string, unknown>) => boolean,
    timeoutMs = 120_000,
  ): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    const listener = (record: Record<string, unknown>) => {
      if (!found && matches(record)) found = record;
    };
    this.lineListeners.add(listener);
    return waitFor(`${this.name} to log ${what}`, () => found, { timeoutMs, intervalMs: 50 }).finally(() =>
      this.lineListeners.delete(listener),
    );
  }

  /** Resolves with the exit code (null when a signal ended it). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.stopping = true;
    // SIGKILL takes the whole group down at once; SIGTERM goes to livepulse, which stops its children itself.
    if (signal === 'SIGKILL') process.kill(-child.pid!, signal);
    else child.kill(signal);
    const code = await exited;
    if (signal === 'SIGKILL') this.kills += 1;
    return code;
  }

  private readLines(chunk: Buffer): void {
    if (this.lineListeners.size === 0) {
      this.partialLine = '';
      return;
    }
    const lines = (this.partialLine + chunk.toString('utf8')).split('\n');
    this.partialLine = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const listener of this.lineListeners) listener(record);
    }
  }
}
