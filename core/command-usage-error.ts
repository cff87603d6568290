/**
 * A command line that cannot run as given (a missing or malformed option): the CLI prints the
 * message with a pointer to `--help` and exits 2, without a stack trace.
 */
export class CommandUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandUsageError';
  }
}
