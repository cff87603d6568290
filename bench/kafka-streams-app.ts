import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The Kafka Streams baseline of bench:processors (bench/kafka-streams/): built on first use with
 * Maven (the classpath, from Maven Central) and javac into the livepulse cache, keyed by a hash of
 * its sources and the broker's Kafka version, so CI and infra/local never pay for it.
 */
const appDir = fileURLToPath(new URL('./kafka-streams/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
// Must match infra/local/install.sh.
const cacheDir =
  process.env.LIVEPULSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'livepulse');
const MAIN_CLASS = 'dev.livepulse.bench.ViewerWindowsApp';
const run = promisify(execFile);

async function kafkaVersion(): Promise<string> {
  const text = await readFile(join(repoRoot, 'infra/local/versions.env'), 'utf8');
  const version = /^KAFKA_VERSION=(\S+)$/m.exec(text)?.[1];
  if (!version) throw new Error('infra/local/versions.env has no KAFKA_VERSION line');
  return version;
}

async function javaSources(): Promise<string[]> {
  const root = join(appDir, 'src/main/java/dev/livepulse/bench');
  return (await readdir(root))
    .filter((name) => name.endsWith('.java'))
    .sort()
    .map((name) => join(root, name));
}

/** Builds the app once per source version; returns its Java classpath. */
export async function buildKafkaStreamsApp(log: (line: string) => void): Promise<string> {
  const version = await kafkaVersion();
  const sources = await javaSources();
  const hash = createHash('sha256').update(version);
  for (const file of [join(appDir, 'pom.xml'), ...sources])
    hash.update(file.slice(appDir.length)).update(await readFile(file));
  const home = join(cacheDir, `kafka-streams-bench-${hash.digest('hex').slice(0, 16)}`);
  const classpath = `${join(home, 'classes')}:${join(home, 'libs')}/*`;
  if (existsSync(join(home, '.complete'))) return classpath;
  log(`Kafka Streams ${version} baseline: fetching its classpath with mvn and compiling it into ${home}`);
  // Built in a scratch directory and moved into place, so an interrupted build leaves no half cache.
  const scratch = `${home}.partial`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await run('mvn', [
      '-q',
      '-B',
      '-Dstyle.color=never',
      '-f',
      join(appDir, 'pom.xml'),
      `-Dkafka.version=${version}`,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(scratch, 'libs')}`,
    ]);
    await run('javac', [
      '--release',
      '17',
      '-d',
      join(scratch, 'classes'),
      '-cp',
      `${join(scratch, 'libs')}/*`,
      ...sources,
    ]);
  } catch (error) {
    throw new Error(
      `could not build the Kafka Streams baseline (needs mvn reaching Maven Central and a JDK 17): ${String(error)}`,
      { cause: error },
    );
  }
  await writeFile(join(scratch, '.complete'), '');
  await rm(home, { recursive: true, force: true });
  await rename(scratch, home);
  return classpath;
}

export interface KafkaStreamsAppOptions {
  classpath: string;
  bootstrap: string;
  input: string;
  output: string;
  applicationId: string;
  stateDir: string;
  threads: number;
  windowMs: number;
  graceMs: number;
  inMemoryStores: boolean;
}

export interface RunningKafkaStreamsApp {
  /** performance.now() when the app reported its first record. */
  firstRecord: Promise<number>;
  /** Stops the app (SIGTERM: Kafka Streams closes cleanly) and waits for it to exit. */
  stop(): Promise<void>;
}

export function startKafkaStreamsApp(
  options: KafkaStreamsAppOptions,
  log: (line: string) => void,
): RunningKafkaStreamsApp {
  const args = [
    '-cp',
    options.classpath,
    MAIN_CLASS,
    '--bootstrap',
    options.bootstrap,
    '--input',
    options.input,
    '--output',
    options.output,
    '--application-id',
    options.applicationId,
    '--state-dir',
    options.stateDir,
    '--threads',
    String(options.threads),
    '--window-ms',
    String(options.windowMs),
    '--grace-ms',
    String(options.graceMs),
    ...(options.inMemoryStores ? ['--in-memory-stores'] : []),
  ];
  const child: ChildProcess = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstRecord = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'first-record') resolve(performance.now());
      else log(`kafka-streams: ${line}`);
    });
    void exited.then((code) =>
      reject(new Error(`the Kafka Streams app exited with code ${code} before its first record`)),
    );
  });
  // Unhandled if the app is stopped before a first record was awaited.
  firstRecord.catch(() => undefined);
  createInterface({ input: child.stderr! }).on('line', (line) => log(`kafka-streams: ${line}`));
  return {
    firstRecord,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
