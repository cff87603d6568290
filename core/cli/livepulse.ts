import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startPlatform } from '../platform.ts';
import { findServices, SERVICES } from '../services.ts';

const USAGE = `livepulse — real-time streaming analytics and moderation for live video

Usage:
  livepulse start [service…]          run every service (default) or the named ones
  livepulse demo [--duration S]       every service plus a synthetic live stream, simulated viewers and
                                      chatters, with progress in the terminal (see docs/demo.md)
  livepulse services start|stop|status [kafka redis s3 clickhouse]
                                      local real services for development and tests
  livepulse simulate --viewers N --duration S --collector URL --key K --out truth.json
                                      play scripted viewers against a collector, with the ground truth
  livepulse config                    print the resolved configuration (secrets redacted)
  livepulse ivs create-channel|sessions|recordings …
                                      the Amazon IVS control plane (see \`livepulse ivs\`)
  livepulse live-stream [--duration S] [--collector URL] …
                                      a synthetic live broadcast recorded in IVS's layout (see \`livepulse live-stream --help\`)
  livepulse token --sub <id> --role <stream>=<role> [--name …] [--ttl …]
                                      mint a development chat token (see \`livepulse token --help\`)
  livepulse api-token --role admin|analyst|creator [--creator ID] [--ttl S]
                                      mint a development API token for the query API and reports
  livepulse help

Configuration comes from the environment; see docs/configuration.md.`;

async function start(names: string[]): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const services = findServices(names);
  const platform = await startPlatform(config, services, logger);
  process.stdout.write(`livepulse ${config.mode} mode listening on ${platform.url} (services: ${services.map((s) => s.name).join(', ') || 'none'})\n`);
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

function redacted(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      /password|secret|apiKey|writeKeys/i.test(key) && v ? '[redacted]' : v,
    ),
  );
}

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const [command, ...rest] = positionals;
  switch (command) {
    case 'start':
      return start(rest);
    case 'demo': {
      const { runDemoCommand, DEMO_USAGE } = await import('./demo.ts');
      if (argv.includes('--help')) {
        process.stdout.write(`${DEMO_USAGE}\n`);
        return 0;
      }
      return runDemoCommand(argv.slice(argv.indexOf('demo') + 1));
    }
    case 'services': {
      const { runServicesCommand } = await import('../../infra/local/services.ts');
      return runServicesCommand(rest);
    }
    case 'simulate': {
      const { runSimulateCommand } = await import('../../stream-processors/simulator/simulate.ts');
      return runSimulateCommand(argv.slice(argv.indexOf('simulate') + 1), loadConfig().analytics);
    }
    case 'config':
      process.stdout.write(`${JSON.stringify(redacted(loadConfig()), null, 2)}\n`);
      return 0;
    case 'ivs': {
      const { runIvsCommand } = await import('../ivs/ivs-command.ts');
      return runIvsCommand(argv.slice(argv.indexOf('ivs') + 1));
    }
    case 'live-stream': {
      const { runLiveStreamCommand, LIVE_STREAM_USAGE } = await import('../../clip-worker/live-stream-command.ts');
      if (argv.includes('--help')) {
        process.stdout.write(`${LIVE_STREAM_USAGE}\n`);
        return 0;
      }
      return runLiveStreamCommand(argv.slice(argv.indexOf('live-stream') + 1));
    }
    case 'token': {
      const { mintTokenFromArgs, TokenCommandError, TOKEN_USAGE } = await import('../../chat-gateway/token-command.ts');
      if (argv.includes('--help')) {
        process.stdout.write(`${TOKEN_USAGE}\n`);
        return 0;
      }
      try {
        process.stdout.write(`${await mintTokenFromArgs(argv.slice(argv.indexOf('token') + 1), loadConfig().auth)}\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof TokenCommandError)) throw error;
        process.stderr.write(`livepulse: ${error.message}\n`);
        return 2;
      }
    }
    case 'api-token': {
      const { mintApiTokenFromArgs, ApiTokenCommandError, API_TOKEN_USAGE } = await import('../../dashboards/query-api/api-token-command.ts');
      if (argv.includes('--help')) {
        process.stdout.write(`${API_TOKEN_USAGE}\n`);
        return 0;
      }
      try {
        process.stdout.write(`${await mintApiTokenFromArgs(argv.slice(argv.indexOf('api-token') + 1), loadConfig().auth)}\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof ApiTokenCommandError)) throw error;
        process.stderr.write(`livepulse: ${error.message}\n`);
        return 2;
      }
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n\nServices: ${SERVICES.map((s) => `${s.name} (${s.description})`).join(', ') || 'none yet'}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`livepulse: ${error.message}\n`);
    else process.stderr.write(`livepulse: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
