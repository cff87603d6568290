import type snowflake from 'snowflake-sdk';
import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import type { BindValue } from './snowflake-statements.ts';

/**
 * A promise-shaped connection to Snowflake over the official `snowflake-sdk` (REST: login-request,
 * query-request with positional binds, JSON result sets). `accessUrl` points it at a Snowflake
 * account's URL or, in tests, at the local test server (test/fixtures/snowflake_server.py).
 */
export type SnowflakeSettings = Extract<Config['warehouse'], { kind: 'snowflake' }>;

export class SnowflakeQueryError extends Error {
  constructor(
    readonly sqlText: string,
    readonly code: string | undefined,
    readonly sqlState: string | undefined,
    options: { cause: unknown },
  ) {
    super(
      `Snowflake refused ${sqlText.split('\n')[0]!.slice(0, 120)}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'SnowflakeQueryError';
  }
}

export class SnowflakeUnavailableError extends Error {
  constructor(account: string, options: { cause: unknown }) {
    super(
      `cannot connect to Snowflake account ${account}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'SnowflakeUnavailableError';
  }
}

export class SnowflakeWarehouse {
  private constructor(private readonly connection: snowflake.Connection) {}

  static async connect(settings: SnowflakeSettings, logger?: Logger): Promise<SnowflakeWarehouse> {
    // Loaded here, not at import: the driver and its AWS/Azure/GCP clients are ~100 modules that
    // only a process whose Snowflake sink is configured needs.
    const { default: snowflake } = await import('snowflake-sdk');
    // The driver's own logger writes files and console lines; its messages go through ours instead.
    snowflake.configure({
      customLogger: {
        error: (m: string) => logger?.error({ component: 'snowflake-sdk' }, m),
        warn: (m: string) => logger?.warn({ component: 'snowflake-sdk' }, m),
        info: (m: string) => logger?.debug({ component: 'snowflake-sdk' }, m),
        debug: () => undefined,
        trace: () => undefined,
      },
    });
    const connection = snowflake.createConnection({
      account: settings.account,
      username: settings.username,
      password: settings.password,
      database: settings.database,
      schema: settings.schema,
      ...(settings.warehouse ? { warehouse: settings.warehouse } : {}),
      ...(settings.accessUrl ? { accessUrl: settings.accessUrl } : {}),
    });
    try {
      await connection.connectAsync();
    } catch (error) {
      throw new SnowflakeUnavailableError(settings.account, { cause: error });
    }
    return new SnowflakeWarehouse(connection);
  }

  execute<Row = Record<string, unknown>>(sqlText: string, binds: BindValue[] = []): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.connection.execute({
        sqlText,
        binds,
        complete: (error, statement, rows) => {
          if (error) {
            const details = error as Error & { code?: string | number; sqlState?: string };
            reject(
              new SnowflakeQueryError(
                sqlText,
                details.code === undefined ? undefined : String(details.code),
                details.sqlState,
                { cause: error },
              ),
            );
          } else resolve((rows ?? []) as Row[]);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.connection.destroy(() => resolve()));
  }
}
