import { loadConfig } from '../../core/config.ts';

function redacted(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) => (/password|secret|apiKey|writeKeys/i.test(key) && v ? '[redacted]' : v)),
  );
}

/** `livepulse config`: the resolved configuration, secrets redacted. */
export function printConfig(): Promise<number> {
  process.stdout.write(`${JSON.stringify(redacted(loadConfig()), null, 2)}\n`);
  return Promise.resolve(0);
}
