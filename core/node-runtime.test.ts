import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowestNodeVersion, nodeRuntimeProblem } from './node-runtime.ts';

const repoFile = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('nodeRuntimeProblem', () => {
  it.each([
    ['v24.22.3', '>=24'],
    ['v24.0.0', '>=24'],
    ['v26.12.1', '>=24'],
    ['v22.22.0', '>=22.22'],
    ['v22.22.1', '>=22.22.0'],
    ['v23.0.0', '>= 22.22.5'],
    ['v25.0.0-nightly20260101abcdef', '>=24'],
  ])('lets %s run under engines %s', (running, engines) => {
    expect(nodeRuntimeProblem(running, engines)).toBeUndefined();
  });

  it.each([
    ['v20.20.2', '>=24', 'Node.js 24.0.0 or newer'],
    ['v23.11.1', '>=24', 'Node.js 24.0.0 or newer'],
    ['v22.21.9', '>=22.22', 'Node.js 22.22.0 or newer'],
    ['v22.22.0', '>=22.22.1', 'Node.js 22.22.1 or newer'],
    ['v24.0.0-rc.1', '>=24.1', 'Node.js 24.1.0 or newer'],
  ])('stops %s under engines %s, saying what to do', (running, engines, needs) => {
    const problem = nodeRuntimeProblem(running, engines);
    expect(problem).toContain(`${needs} (package.json engines.node "${engines}"), and this is Node.js ${running}`);
    expect(problem).toContain('. infra/local/use-node.sh');
    expect(problem).toContain('npm rebuild');
  });

  it.each(['^24', '24', '>=24 <26', '>=lts', ''])('rejects engines.node %j, which it cannot read', (engines) => {
    expect(() => nodeRuntimeProblem('v24.22.3', engines)).toThrow(/engines\.node .* is not of the form ">=24"/);
  });

  it('rejects a running version it cannot read', () => {
    expect(() => nodeRuntimeProblem('v24.x', '>=24')).toThrow('the Node.js version "v24.x" is not a version');
  });
});

describe('the Node.js Livepulse runs on', () => {
  const engines = (JSON.parse(repoFile('package.json')) as { engines: { node: string } }).engines.node;
  const fetched = /^NODE_VERSION=(\S+)$/m.exec(repoFile('infra/local/versions.env'))?.[1];

  it('is Node.js 24 LTS or newer in package.json', () => {
    expect(lowestNodeVersion(engines)[0]).toBeGreaterThanOrEqual(24);
  });

  // The Dockerfile's base image follows versions.env: the deployment validator checks that.
  it('is what use-node.sh fetches, admitted by package.json', () => {
    expect(fetched).toBeDefined();
    expect(nodeRuntimeProblem(`v${fetched}`, engines)).toBeUndefined();
  });
});
