import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkComposeInvariants, runComposeSpec } from './tools/check-compose.ts';
import { checkCustomResources, type Manifest } from './tools/check-manifests.ts';
import { checkTerraformConfig, loadHcl2Json, parseTerraformDirectory } from './tools/check-terraform.ts';
import type { ProviderSchema } from './tools/aws-provider-schema.ts';
import { DEPLOY_DIR, findValidators, INSTALL_HINT, REPO_DIR } from './tools/validators.ts';
import { missingValidators, serviceNames, STEPS, type StepContext } from './tools/validate.ts';

/**
 * The deployment files (Dockerfile, infra/deploy/: compose, Helm chart, Terraform) checked with
 * every validator that runs here; docs/deployment.md lists what that proves. Validators come from
 * install-validators.sh (run by infra/local/install.sh). One that is missing fails its test with
 * the install command: nothing is skipped silently. The in-process checks need none of them.
 */

const validators = findValidators();
let context: StepContext;

beforeAll(async () => {
  context = { validators, services: await serviceNames() };
});

describe('deployment files', () => {
  for (const step of STEPS) {
    it(step.name, async () => {
      const missing = missingValidators(step, validators);
      if (missing.length > 0) expect.fail(`${missing.join(', ')} ${INSTALL_HINT}`);
      const { problems, summary } = await step.run(context);
      expect(problems, summary).toEqual([]);
    });
  }

  it('every YAML file under infra/deploy parses (Helm templates aside)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'templates' && entry.name !== 'node_modules') walk(path);
        else if (/\.ya?ml$/.test(entry.name)) files.push(path);
      }
    };
    walk(DEPLOY_DIR);
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const errors = parseAllDocuments(readFileSync(file, 'utf8')).flatMap((d) => d.errors.map((e) => e.message));
      expect(errors, relative(REPO_DIR, file)).toEqual([]);
    }
  });
});

/**
 * Negative controls: each external validator must reject a known-bad input, so one that
 * silently passes everything (a broken install, a changed CLI) cannot go unnoticed.
 */
describe('the validators reject broken input', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'livepulse-deploy-negative-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const need = (...names: Array<'helm' | 'composeSpec' | 'python' | 'npm'>) => {
    const missing = names.filter((n) => !validators[n]);
    if (missing.length > 0) expect.fail(`${missing.join(', ')} ${INSTALL_HINT}`);
  };

  it('compose-go rejects a field the Compose Specification does not have', () => {
    need('composeSpec');
    const file = join(scratch, 'compose.yml');
    writeFileSync(file, 'services:\n  a:\n    image: busybox:1.36\n    healthcheck:\n      intervall: 5s\n');
    expect(runComposeSpec(validators.composeSpec!, file, '').problems.join('\n')).toMatch(/intervall/);
  });

  it('the compose invariants reject a dependency on an undefined service (compose-go does not)', () => {
    const problems = checkComposeInvariants(
      { services: { a: { image: 'busybox:1.36', depends_on: { missing: { condition: 'service_healthy' } } } } },
      [],
    );
    expect(problems.join('\n')).toMatch(/depends_on missing, which is not a service/);
  });

  it('helm refuses values that break the chart schema or its invariants', () => {
    need('helm');
    const chart = join(DEPLOY_DIR, 'helm', 'livepulse');
    for (const [set, expected] of [
      ['image.tag=latest', /image\/tag/],
      ['services.moderation.keda.maxReplicaCount=13', /exceeds kafka.partitions/],
      ['services.ingest-api.pdb.minAvailable=2', /minAvailable/],
      ['existingSecret=', /existingSecret/],
    ] as const) {
      const result = spawnSync(
        validators.helm!,
        ['template', 'lp', chart, '--kube-version', validators.kubeVersion, '--set', set],
        { encoding: 'utf8' },
      );
      expect(result.status, set).not.toBe(0);
      expect(result.stderr, set).toMatch(expected);
    }
  });

  it('kubernetes-validate rejects an unknown field in strict mode', () => {
    need('python');
    const file = join(scratch, 'deployment.yaml');
    writeFileSync(
      file,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      terminationGracePeriod: 30\n      containers: [{name: x, image: "x:1"}]\n',
    );
    const result = spawnSync('python3', ['-m', 'kubernetes_validate', '--strict', '-k', validators.kubeVersion, file], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: validators.python!.pythonPath },
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/terminationGracePeriod/);
  });

  it('the CRD schemas reject a malformed ScaledObject and unknown kafka trigger metadata', async () => {
    need('npm');
    const scaledObject = (spec: Record<string, unknown>): Manifest => ({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'x' },
      spec,
    });
    const { problems } = await checkCustomResources(
      [
        scaledObject({
          scaleTargetRef: { name: 'd' },
          minReplicaCount: 'one',
          triggers: [{ type: 'kafka', metadata: { topic: 't' } }],
        }),
        scaledObject({
          scaleTargetRef: { name: 'd' },
          triggers: [{ type: 'kafka', metadata: { topic: 't', lagTreshold: '5' } }],
        }),
      ],
      validators.npm!.prefix,
    );
    expect(problems.join('\n')).toMatch(/minReplicaCount must be integer/);
    expect(problems.join('\n')).toMatch(/unknown kafka trigger metadata lagTreshold/);
  });

  it('the Terraform check rejects unknown arguments, missing required ones and dangling references', async () => {
    need('npm');
    const dir = join(scratch, 'terraform');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'main.tf'),
      [
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "~> 6.25" }\n  }\n}',
        'resource "aws_ivs_channel" "x" {\n  name = "x"\n  latency = "LOW"\n}',
        'resource "aws_cloudwatch_event_api_destination" "y" {\n  name = "y"\n  http_method = "POST"\n  invocation_endpoint = "https://example.com"\n}',
        'output "z" {\n  value = aws_ivs_channel.missing.arn\n}',
      ].join('\n\n'),
    );
    const provider = JSON.parse(readFileSync(validators.npm!.awsSchema, 'utf8')) as ProviderSchema;
    const { problems } = checkTerraformConfig(
      await parseTerraformDirectory(dir, await loadHcl2Json(validators.npm!.prefix)),
      provider,
    );
    expect(problems.join('\n')).toMatch(/unsupported argument or block "latency"/);
    expect(problems.join('\n')).toMatch(/required argument or block "connection_arn" is missing/);
    expect(problems.join('\n')).toMatch(/aws_ivs_channel\.missing .*not declared/);
  });

  it('hadolint rejects an unpinned base image', () => {
    need('python');
    const file = join(scratch, 'Dockerfile');
    writeFileSync(file, 'FROM node:latest\nCMD ["node"]\n');
    const result = spawnSync(validators.python!.hadolint, ['--no-color', '--failure-threshold', 'warning', file], {
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/DL3007/);
  });
});
