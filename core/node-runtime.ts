import { readFileSync } from 'node:fs';

// Livepulse is tested and shipped on one Node.js line (package.json's engines.node), and its native
// addons (better-sqlite3, chDB) are built for the Node.js that ran `npm install`: on an older one it
// stops at start with what to do, rather than run untested or fail on a module version mismatch.

type Version = [number, number, number];

const VERSION = String.raw`v?(\d+)(?:\.(\d+))?(?:\.(\d+))?`;
const ENGINES_RANGE = new RegExp(String.raw`^>=\s*${VERSION}$`);
// process.version, which a pre-release or nightly build suffixes (v24.0.0-nightly2025…).
const RUNNING_VERSION = new RegExp(String.raw`^${VERSION}(?:-\S+)?$`);

function versionOf(match: RegExpExecArray): Version {
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

/** The lowest Node.js version an engines.node range of the form ">=24" or ">=22.22.0" admits. */
export function lowestNodeVersion(engines: string): Version {
  const match = ENGINES_RANGE.exec(engines.trim());
  if (!match) throw new Error(`package.json engines.node "${engines}" is not of the form ">=24" or ">=24.1.0"`);
  return versionOf(match);
}

/** Why `running` (process.version) cannot run Livepulse under `engines`, or undefined when it can. */
export function nodeRuntimeProblem(running: string, engines: string): string | undefined {
  const lowest = lowestNodeVersion(engines);
  const match = RUNNING_VERSION.exec(running);
  if (!match) throw new Error(`the Node.js version "${running}" is not a version such as v24.22.3`);
  const version = versionOf(match);
  const index = version.findIndex((part, i) => part !== lowest[i]);
  if (index === -1 || version[index]! > lowest[index]!) return undefined;
  return (
    `Livepulse runs on Node.js ${lowest.join('.')} or newer (package.json engines.node "${engines}"), and this is Node.js ${running}.\n` +
    `In the checkout, \`. infra/local/use-node.sh\` puts Node.js ${lowest[0]} on this shell's PATH (fetched once when the machine's is older);\n` +
    `then \`npm rebuild\` builds the native addons for it (or \`npm install\` in a fresh checkout).`
  );
}

/** Ends the process with the problem on stderr when this Node.js cannot run Livepulse. */
export function requireNodeRuntime(): void {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  };
  const problem = nodeRuntimeProblem(process.version, manifest.engines.node);
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
