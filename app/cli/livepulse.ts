import { CommanderError, type Command } from 'commander';
import { buildProgram } from './program.ts';

/**
 * The `livepulse` executable (bin/livepulse.js): commander parses the command line
 * (app/cli/program.ts), then the chosen command's implementation is loaded and run.
 * Exit codes: 0 done (and --help), 1 failed, 2 the command line was wrong.
 */
const USAGE_EXIT_CODE = 2;

/** `ivs create-channel` for that subcommand. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Errors that are the user's to fix are printed without a stack trace. */
async function reportFailure(error: unknown, path: string): Promise<number> {
  const [{ ConfigError }, { CommandUsageError }] = await Promise.all([
    import('../../core/config.ts'),
    import('../../core/command-usage-error.ts'),
  ]);
  if (error instanceof CommandUsageError) {
    process.stderr.write(`livepulse ${path}: ${error.message}\n(see livepulse ${path} --help)\n`);
    return USAGE_EXIT_CODE;
  }
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`livepulse: ${message}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  let chosen: { run: () => Promise<number>; path: string } | undefined;
  let path = '';
  const program = buildProgram((run) => {
    chosen = { run, path };
  }).hook('preAction', (_program, actionCommand) => {
    path = commandPath(actionCommand);
  });
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // commander has already printed the help, or the error with a pointer to --help.
    return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
  }
  if (!chosen) return 0;
  try {
    return await chosen.run();
  } catch (error) {
    return reportFailure(error, chosen.path);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`livepulse: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
