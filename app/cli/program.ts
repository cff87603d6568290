import { Argument, Command, Option } from 'commander';
// Type imports only: they vanish at run time, so building the program loads none of these modules.
import type { ApiTokenOptions } from '../../dashboards/query-api/api-token-command.ts';
import type { TokenOptions } from '../../chat-gateway/token-command.ts';
import type { LiveStreamOptions } from '../../tools/live-stream/live-stream-command.ts';
import type { SimulateCommandOptions } from '../../tools/simulator/simulate.ts';
import type { CreateChannelOptions } from '../../core/ivs/ivs-command.ts';
import type { DemoOptions } from '../../tools/demo/plan.ts';

/**
 * Every `livepulse` command, its options and its help, in one place (commander). Each action
 * imports its implementation when it runs, so `--help` and a mistyped option answer without
 * loading the services (docs/architecture.md, Runtime). An action resolves to the process exit code.
 */
export type Run = (command: () => Promise<number>) => void;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const printLine = (line: string) => process.stdout.write(`${line}\n`);

export function buildProgram(run: Run): Command {
  const program = new Command('livepulse')
    .description('real-time streaming analytics and moderation for live video')
    .addHelpText('after', '\nConfiguration comes from the environment; see docs/configuration.md.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('start')
    .description('run every service (default) or the named ones; an unknown name lists the known ones')
    .argument('[services...]', 'services to run, e.g. ingest-api viewer-analytics clickhouse-sink')
    .action((services: string[]) => run(async () => (await import('./start-command.ts')).runStartCommand(services)));

  program
    .command('demo')
    .description(
      'every service (as `livepulse start`) plus a synthetic live stream, simulated viewers and chatters, with progress in the ' +
        'terminal; until Ctrl-C or for --duration seconds. Logs go to $LIVEPULSE_DATA_DIR/demo.log; see docs/demo.md',
    )
    .option('--duration <seconds>', 'stop after this many seconds (at least 30)')
    .option('--viewers <n>', 'simulated viewers per round (at least 10)', '80')
    .option('--chatters <n>', 'simulated chatters (at least 10)', '30')
    .option('--seed <n>', 'seed of the audience and chat scripts (default: from the clock)')
    .option('--renditions <list>', 'renditions of the synthetic stream, <height>p<fps>', '720p30,360p30')
    .action((options: DemoOptions) =>
      run(async () => {
        const [{ runDemoCommand }, { SERVICES }, { logDevelopmentCredentials }] = await Promise.all([
          import('../../tools/demo/run.ts'),
          import('../services.ts'),
          import('./development-credentials.ts'),
        ]);
        return runDemoCommand(options, { services: SERVICES, logDevelopmentCredentials });
      }),
    );

  const services = program
    .command('services')
    .description(
      'local real services (Kafka, Redis, S3 gateway, ClickHouse over chDB) for development and tests; see docs/local-services.md',
    );
  const serviceNames = () => new Argument('[names...]', 'kafka, redis, s3, clickhouse (default: all)');
  const servicesAction =
    (action: 'start' | 'stop' | 'status') =>
    (names: string[] = []) =>
      run(async () => (await import('../../infra/local/services-command.ts')).runServicesCommand(action, names));
  services
    .command('start')
    .description('start (or reuse) the services; progress on stderr, their endpoints on stdout as env lines')
    .addArgument(serviceNames())
    .action(servicesAction('start'));
  services.command('stop').description('stop the services').addArgument(serviceNames()).action(servicesAction('stop'));
  services
    .command('status')
    .description('which services run, and their endpoints as env lines')
    .action(() => servicesAction('status')());

  program
    .command('simulate')
    .description(
      'play scripted viewers (joins, startup delays, rebuffers, pauses, quality switches, fatal errors, leaves) against a ' +
        "collector in real time and write the ground truth of every metric (with this configuration's ANALYTICS_* windows) to --out",
    )
    .requiredOption('--viewers <n>', 'scripted viewers')
    .requiredOption('--duration <seconds>', 'how long to play')
    .requiredOption('--collector <url>', 'the collector, e.g. http://127.0.0.1:8080')
    .requiredOption('--key <write-key>', 'a write key of LIVEPULSE_WRITE_KEYS')
    .requiredOption('--out <file>', 'where to write the ground truth (JSON)')
    .option('--seed <n>', 'seed of the viewer scripts (default: from the clock)')
    .option('--streams <n>', 'streams the viewers spread over')
    .option('--flush-interval <ms>', "the SDK's batch interval", '10000')
    .option('--chaos', 'shuffle, duplicate and hold back events')
    .action((options: SimulateCommandOptions) =>
      run(async () => {
        const [{ runSimulateCommand }, { loadConfig }] = await Promise.all([
          import('../../tools/simulator/simulate.ts'),
          import('../../core/config.ts'),
        ]);
        return runSimulateCommand(options, loadConfig().analytics);
      }),
    );

  program
    .command('config')
    .description('print the resolved configuration (secrets redacted)')
    .action(() => run(async () => (await import('./config-command.ts')).printConfig()));

  const ivs = program
    .command('ivs')
    .description(
      'the Amazon IVS control plane; credentials from the AWS chain, IVS_REGION and IVS_ENDPOINT from the environment',
    );
  ivs
    .command('create-channel')
    .description('a channel that auto-records to S3')
    .argument('<name>', 'channel name')
    .option('--creator <creator-id>', 'tag the channel with its creator, which makes its streams that creator’s')
    .option('--bucket <s3-bucket>', 'recording bucket (default: S3_BUCKET)')
    .addOption(
      new Option('--type <type>', 'channel type')
        .choices(['STANDARD', 'BASIC', 'ADVANCED_SD', 'ADVANCED_HD'])
        .default('STANDARD'),
    )
    .addOption(new Option('--latency <mode>', 'latency mode').choices(['LOW', 'NORMAL']).default('LOW'))
    .option('--reconnect-window <seconds>', 'merge reconnects within this many seconds into one recording (0–300)', '0')
    .action((name: string, options: CreateChannelOptions) =>
      run(async () => (await import('../../core/ivs/ivs-command.ts')).runCreateChannel(name, options)),
    );
  ivs
    .command('sessions')
    .description("the channel's stream sessions, newest first")
    .argument('<channel-arn>', 'the channel')
    .action((arn: string) => run(async () => (await import('../../core/ivs/ivs-command.ts')).runSessions(arn)));
  ivs
    .command('recordings')
    .description("where the stream's recordings are (from stream.lifecycle events)")
    .argument('<stream-id>', 'the stream')
    .action((streamId: string) =>
      run(async () => (await import('../../core/ivs/ivs-command.ts')).runRecordings(streamId)),
    );

  program
    .command('live-stream')
    .description(
      "a synthetic live broadcast recorded into the object store in IVS's S3 layout, with IVS's state changes posted to --collector",
    )
    .option('--channel <id>', 'channel id', 'LivepulseDemo')
    .option('--account <12 digits>', 'AWS account id in the recording prefix', '000000000000')
    .option('--stream-id <st-…>', 'stream id (default: a new one)')
    .option('--duration <seconds>', 'broadcast length', '300')
    .option('--renditions <list>', 'renditions, <height>p<fps>', '720p30,360p30')
    .option('--segment <seconds>', 'HLS segment length', '4')
    .option('--collector <url>', 'post the IVS state changes to this collector')
    .action((options: LiveStreamOptions) =>
      run(async () => (await import('../../tools/live-stream/live-stream-command.ts')).runLiveStreamCommand(options)),
    );

  program
    .command('token')
    .description(
      'mint a development chat token (HS256, LIVEPULSE_JWT_SECRET); roles: viewer, moderator, host, admin; <stream> may be * for every stream',
    )
    .option('--sub <user-id>', 'user id (required)')
    .option('--name <display-name>', 'display name (default: the user id)')
    .option('--role <stream=role>', 'a role in a stream; repeatable', collect)
    .option('--ttl <seconds>', 'lifetime', '3600')
    .option('--follow <stream=date>', 'follows the stream since an ISO date or epoch seconds; repeatable', collect)
    .option('--subscriber <stream>', 'subscribes to the stream; repeatable', collect)
    .action((options: TokenOptions) =>
      run(async () => {
        const [{ mintTokenFromOptions }, { loadConfig }] = await Promise.all([
          import('../../chat-gateway/token-command.ts'),
          import('../../core/config.ts'),
        ]);
        printLine(await mintTokenFromOptions(options, loadConfig().auth));
        return 0;
      }),
    );

  program
    .command('api-token')
    .description(
      "mint a development API token for the query API and creator reports (HS256, LIVEPULSE_JWT_SECRET); a creator token reads only that creator's streams",
    )
    .addOption(new Option('--role <role>', 'the token’s role').choices(['admin', 'analyst', 'creator']))
    .option('--creator <creator-id>', 'the creator a creator token belongs to')
    .option('--sub <user-id>', 'user id (default: dev-<role>)')
    .option('--ttl <seconds>', 'lifetime', '3600')
    .action((options: ApiTokenOptions) =>
      run(async () => {
        const [{ mintApiTokenFromOptions }, { loadConfig }] = await Promise.all([
          import('../../dashboards/query-api/api-token-command.ts'),
          import('../../core/config.ts'),
        ]);
        printLine(await mintApiTokenFromOptions(options, loadConfig().auth));
        return 0;
      }),
    );

  return program;
}
