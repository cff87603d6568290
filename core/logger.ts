import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** How lines are written: JSON for machines, coloured text for a person at a terminal. */
export type LogFormat = Exclude<Config['logFormat'], 'auto'>;

/** `LOG_FORMAT=auto` is pretty only when a person is watching: stdout is a terminal. */
export function resolveLogFormat(format: Config['logFormat'], stdoutIsTerminal: boolean): LogFormat {
  if (format === 'auto') return stdoutIsTerminal ? 'pretty' : 'json';
  return format;
}

export interface LoggerOptions {
  /** `auto` (default: JSON unless stdout is a terminal), `json` or `pretty`. */
  format?: Config['logFormat'];
  name?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

/** Structured logs (pino); one root logger per process, children per service. */
export function createLogger(
  level: string,
  { format = 'auto', name = 'livepulse', destination }: LoggerOptions = {},
): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (resolveLogFormat(format, process.stdout.isTTY === true) === 'json')
    return destination ? pino(options, destination) : pino(options);
  // Loaded only for a terminal: a JSON-logging deployment never needs it. In-process and
  // synchronous, so a line is on screen before the process exits.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (
    options: Record<string, unknown>,
  ) => DestinationStream;
  return pino(
    options,
    pretty({
      sync: true,
      colorize: destination === undefined ? process.stdout.isTTY === true : false,
      ignore: 'pid,hostname',
      translateTime: 'SYS:HH:MM:ss.l',
      ...(destination && { destination }),
    }),
  );
}
