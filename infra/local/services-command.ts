// `livepulse services`: the command line over process-supervisor.ts.
import { pathToFileURL } from 'node:url';
import { defaultStateDir, localServicesStatus, startLocalServices, stopLocalServices } from './process-supervisor.ts';
import {
  describeEndpoint,
  errorMessage,
  LOCAL_SERVICE_NAMES,
  type LocalServiceEndpoints,
  type LocalServiceName,
} from './service-definitions.ts';

/**
 * `livepulse services start [names…] | stop [names…] | status`: progress goes to stderr and the
 * endpoints to stdout as env lines, so `set -a; . <(livepulse services start)` points a shell at them.
 */
export async function runServicesCommand(action: 'start' | 'stop' | 'status', requested: string[]): Promise<number> {
  const stderr = (line: string) => process.stderr.write(`${line}\n`);
  const unknown = requested.filter((name) => !LOCAL_SERVICE_NAMES.includes(name as LocalServiceName));
  if (unknown.length > 0) {
    stderr(`unknown service ${unknown.join(', ')}; known: ${LOCAL_SERVICE_NAMES.join(', ')}`);
    return 2;
  }
  const names = requested.length > 0 ? (requested as LocalServiceName[]) : [...LOCAL_SERVICE_NAMES];
  try {
    switch (action) {
      case 'start': {
        const { endpoints } = await startLocalServices(names, { log: stderr });
        process.stdout.write(envLines(endpoints));
        return 0;
      }
      case 'stop':
        await stopLocalServices(defaultStateDir, names);
        stderr(`stopped ${names.join(', ')}`);
        return 0;
      case 'status': {
        const statuses = await localServicesStatus();
        const endpoints: Partial<LocalServiceEndpoints> = {};
        for (const status of statuses) {
          const detail = status.endpoints
            ? `  pid ${status.pid}  ${describeEndpoint(status.endpoints)}  ${status.version}`
            : '';
          stderr(`${status.name.padEnd(10)} ${status.state}${detail}`);
          if (status.state === 'running') Object.assign(endpoints, status.endpoints);
        }
        process.stdout.write(envLines(endpoints));
        return statuses.some((s) => s.state === 'not answering') ? 1 : 0;
      }
    }
  } catch (error) {
    stderr(errorMessage(error));
    return 1;
  }
}

/** The environment that points Livepulse's config (core/config.ts) at these services. */
export function envLines(endpoints: Partial<LocalServiceEndpoints>): string {
  const lines: string[] = [];
  if (endpoints.kafkaBrokers) lines.push(`KAFKA_BROKERS=${endpoints.kafkaBrokers}`);
  if (endpoints.redisUrl) lines.push(`REDIS_URL=${endpoints.redisUrl}`);
  if (endpoints.s3) {
    lines.push(
      `S3_ENDPOINT=${endpoints.s3.endpoint}`,
      `S3_BUCKET=${endpoints.s3.bucket}`,
      `S3_REGION=${endpoints.s3.region}`,
      'S3_FORCE_PATH_STYLE=true',
      `AWS_ACCESS_KEY_ID=${endpoints.s3.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${endpoints.s3.secretAccessKey}`,
    );
  }
  if (endpoints.clickhouseUrl) lines.push(`CLICKHOUSE_URL=${endpoints.clickhouseUrl}`);
  return lines.map((line) => `${line}\n`).join('');
}

// `node --import tsx infra/local/services-command.ts start|stop|status [names…]` works without the CLI too.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [action, ...names] = process.argv.slice(2);
  if (action === 'start' || action === 'stop' || action === 'status')
    process.exitCode = await runServicesCommand(action, names);
  else {
    process.stderr.write('usage: services-command.ts start|stop [kafka redis s3 clickhouse] | status\n');
    process.exitCode = 2;
  }
}
