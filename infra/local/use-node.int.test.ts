import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const nodeVersion = /^NODE_VERSION=(\S+)$/m.exec(readFileSync(join(repoRoot, 'infra/local/versions.env'), 'utf8'))![1]!;
const nodeMajor = Number(nodeVersion.split('.')[0]);

// The PATH of a shell that has not sourced use-node.sh: whatever put the fetched Node.js first
// (.ci/run, a developer's shell) is taken off, so the machine's own node is the one found.
const machinePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !/\/node-\d+\.\d+\.\d+\/bin$/.test(dir))
  .join(delimiter);
const machineEnv = { ...process.env, PATH: machinePath, npm_config_nodedir: undefined };

function sh(shell: string, script: string, cwd: string, env: NodeJS.ProcessEnv = machineEnv) {
  const result = spawnSync(shell, ['-c', script], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  if (result.error) throw result.error;
  return result;
}

describe('infra/local/use-node.sh, sourced', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'use-node-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const machineNode = sh('bash', 'node -p process.versions.node', repoRoot).stdout.trim();

  it.each(['bash', 'dash'])(
    `in %s puts Node.js ${nodeMajor} or newer first on the PATH, whatever node the machine has`,
    (shell) => {
      const result = sh(
        shell,
        '. infra/local/use-node.sh && node -p process.versions.node && echo "nodedir=${npm_config_nodedir:-}"',
        repoRoot,
      );
      expect(result.stderr).not.toContain('error');
      expect(result.status).toBe(0);
      const [version, nodedir] = result.stdout.trim().split('\n');
      expect(Number(version!.split('.')[0])).toBeGreaterThanOrEqual(nodeMajor);
      if (Number(machineNode.split('.')[0]) >= nodeMajor) {
        // Nothing to do: the machine's node stays, and so does npm's own nodedir setting.
        expect(version).toBe(machineNode);
        expect(nodedir).toBe('nodedir=');
      } else {
        // The fetched one, with the headers node-gyp compiles native addons against.
        expect(version).toBe(nodeVersion);
        const headers = nodedir!.replace(/^nodedir=/, '');
        expect(readFileSync(join(headers, 'include/node/node_version.h'), 'utf8')).toContain(
          `#define NODE_MAJOR_VERSION ${nodeMajor}`,
        );
      }
    },
  );

  it('returns a failure to the shell that sourced it, with the reason, and leaves no half cache', () => {
    // A version newer than any node here, and one the registry does not have.
    const checkout = join(scratch, 'checkout');
    mkdirSync(join(checkout, 'infra/local'), { recursive: true });
    copyFileSync(join(repoRoot, 'infra/local/use-node.sh'), join(checkout, 'infra/local/use-node.sh'));
    writeFileSync(join(checkout, 'infra/local/versions.env'), 'NODE_VERSION=999.0.0\n');
    const cache = join(scratch, 'cache');
    const result = sh(
      'bash',
      '. infra/local/use-node.sh && echo went-on; echo "status=$?"; node -p process.versions.node',
      checkout,
      {
        ...machineEnv,
        LIVEPULSE_CACHE_DIR: cache,
      },
    );
    expect(result.stderr).toMatch(/\[node\] error: npm pack node-linux-\w+@999\.0\.0 failed/);
    expect(result.stdout).not.toContain('went-on');
    expect(result.stdout.trim().split('\n')).toEqual(['status=1', machineNode]);
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });

  it('says where to source it from when it cannot find versions.env', () => {
    const result = sh('dash', `. ${join(repoRoot, 'infra/local/use-node.sh')}; echo "status=$?"`, scratch);
    expect(result.stderr).toContain(
      '[node] error: infra/local/versions.env not found: source this from the Livepulse checkout',
    );
    expect(result.stdout.trim()).toBe('status=1');
  });
});
