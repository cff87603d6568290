import { loadConfig } from '../../core/config.ts';
import { logDevelopmentCredentials } from './development-credentials.ts';
import { createLogger } from '../../core/logger.ts';
import { startPlatform } from '../../core/platform.ts';
import { findServices } from '../services.ts';

/** `livepulse start [service…]`: runs until SIGTERM or SIGINT (a second one exits at once). */
export async function runStartCommand(names: string[]): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  const services = findServices(names);
  const platform = await startPlatform(config, services, logger);
  process.stdout.write(
    `livepulse ${config.mode} mode listening on ${platform.url} (services: ${services.map((s) => s.name).join(', ') || 'none'})\n`,
  );
  await logDevelopmentCredentials(config, logger, {
    url: platform.url,
    liveBoard: services.some((s) => s.name === 'live-board'),
  });
  // A service that cannot go on (e.g. its worker threads keep crashing) has stopped the platform.
  void platform.failed.then(() => process.exit(1));

  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(130);
    logger.info({ signal }, 'shutting down');
    platform.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return new Promise<number>(() => undefined);
}
