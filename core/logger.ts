import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (pino); one root logger per process, children per service. */
export function createLogger(level: string, name = 'livepulse'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
