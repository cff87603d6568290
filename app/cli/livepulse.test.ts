import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { CHAT_ROLES } from '../../core/chat/chat-token.ts';
import { DEMO_RENDITIONS } from '../../tools/live-stream/synthetic-stream.ts';
import { API_ROLES } from '../../core/http/api-auth.ts';
import { buildProgram } from './program.ts';

const scratch = mkdtempSync(join(tmpdir(), 'livepulse-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every command and subcommand path, read from the program itself: `['ivs', 'create-channel']`. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...prefix, sub.name()], ...commandPaths(sub, [...prefix, sub.name()])]);
}
const program = buildProgram(() => undefined);
const paths = commandPaths(program);

let runs = 0;
/** Runs bin/livepulse.js with an empty data directory and records the modules it loaded. */
function livepulse(args: string[]) {
  const dataDir = join(scratch, `data-${++runs}`);
  const moduleRecord = join(scratch, `modules-${runs}.txt`);
  const result = spawnSync(
    process.execPath,
    ['--import', './test/fixtures/module-recorder.mjs', 'bin/livepulse.js', ...args],
    {
      encoding: 'utf8',
      // A command that started anything would not return: the timeout makes that a failure, not a hang.
      timeout: 30_000,
      env: {
        ...process.env,
        LIVEPULSE_DATA_DIR: dataDir,
        LIVEPULSE_MODULE_RECORD: moduleRecord,
        PORT: '0',
        LOG_LEVEL: 'info',
      },
    },
  );
  const projectModules = [...new Set(readFileSync(moduleRecord, 'utf8').split('\n'))]
    .filter((url) => url.startsWith('file:') && !url.includes('/node_modules/'))
    .map((url) => relative(process.cwd(), fileURLToPath(url)));
  const dataDirContents = (() => {
    try {
      return readdirSync(dataDir);
    } catch {
      return [];
    }
  })();
  return { ...result, projectModules, dataDirContents };
}

describe('livepulse --help', () => {
  it('knows every command of the old dispatcher', () => {
    expect(paths.map((path) => path.join(' '))).toEqual(
      expect.arrayContaining([
        'start',
        'demo',
        'services',
        'services start',
        'services stop',
        'services status',
        'simulate',
        'config',
        'ivs',
        'ivs create-channel',
        'ivs sessions',
        'ivs recordings',
        'live-stream',
        'token',
        'api-token',
      ]),
    );
  });

  // `help <command>` is commander's, one level deep; `<command> --help` reaches every level.
  const topLevel = paths.filter((path) => path.length === 1);
  it.each([
    [[]],
    [['--help']],
    [['help']],
    ...paths.map((path) => [[...path, '--help']]),
    ...topLevel.map((path) => [['help', ...path]]),
  ])('%j prints usage, exits 0 and starts nothing', (args) => {
    const run = livepulse(args);
    expect(run.signal, run.stderr).toBeNull();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const path = args.filter((arg) => arg !== '--help' && arg !== 'help');
    expect(run.stdout).toMatch(new RegExp(`^Usage: livepulse ${path.map((name) => `${name} `).join('')}`));
    // Nothing ran: no data directory, and no module beyond the command line's own and the runtime check.
    expect(run.dataDirContents).toEqual([]);
    expect(run.projectModules.sort()).toEqual([
      'app/cli/livepulse.ts',
      'app/cli/program.ts',
      'bin/livepulse.js',
      'core/node-runtime.ts',
    ]);
  });

  const command = (name: string) => program.commands.find((sub) => sub.name() === name)!;

  it("offers the synthetic stream's own renditions by default", () => {
    const renditions = DEMO_RENDITIONS.map((rendition) => rendition.name).join(',');
    for (const name of ['demo', 'live-stream']) expect(command(name).opts()).toMatchObject({ renditions });
  });

  it('lists the roles the token commands accept', () => {
    const help = (name: string) => command(name).helpInformation();
    for (const role of CHAT_ROLES) expect(help('token')).toContain(role);
    expect(help('api-token').replace(/\s+/g, ' ')).toContain(
      `choices: ${API_ROLES.map((role) => `"${role}"`).join(', ')}`,
    );
  });
});

describe('a wrong command line', () => {
  /** The command's required options, given, so that the unknown one is what is wrong. */
  const requiredOptions = (path: string[]) =>
    path
      .reduce((command, name) => command.commands.find((sub) => sub.name() === name)!, program)
      .options.filter((option) => option.mandatory)
      .flatMap((option) => [option.long!, '1']);
  it.each(paths)('%s with an unknown option exits 2 and names the option', (...path) => {
    const run = livepulse([...path, ...requiredOptions(path), '--no-such-option']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error: unknown option '--no-such-option'\n\(add --help for usage\)\n$/);
    expect(run.stdout).toBe('');
  });

  it.each([
    [['launch'], /^error: unknown command 'launch'/],
    [['simulate', '--viewers', '5'], /^error: required option '--duration <seconds>' not specified/],
    [['ivs', 'sessions'], /^error: missing required argument 'channel-arn'/],
    [
      ['api-token', '--role', 'owner'],
      /^error: option '--role <role>' argument 'owner' is invalid. Allowed choices are admin, analyst, creator./,
    ],
    // Checked by the command itself: its message, with no stack trace.
    [
      ['token', '--sub', 'alice', '--role', 's1=owner'],
      /^livepulse token: unknown role "owner"\n\(see livepulse token --help\)\n$/,
    ],
    [['demo', '--duration', '5'], /^livepulse demo: --duration must be an integer of at least 30\n/],
    [['start', 'nope'], /^livepulse start: unknown service nope; known services: ingest-api, /],
  ])('%j exits 2 and says why', (args, message) => {
    const run = livepulse(args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
