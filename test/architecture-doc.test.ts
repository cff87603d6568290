import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// docs/architecture.md is the map a newcomer follows; every file and folder it names must be where it says.
const root = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
const FILE = /\.(ts|js|mjs|sql|md|json|ya?ml|sh)$/;

/** Every `code span` of the document that names a file or a folder of the repository. */
function mentionedPaths(markdown: string): string[] {
  const spans = [...markdown.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!);
  return [
    ...new Set(
      spans.filter((span) => /^[\w-][\w.-]*(\/[\w.*-]+)*\/?$/.test(span) && (FILE.test(span) || span.endsWith('/'))),
    ),
  ];
}

const trackedNames = new Set(
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((file) => basename(file)),
);

describe('docs/architecture.md', () => {
  const paths = mentionedPaths(doc);

  it('finds the paths it checks', () => {
    expect(paths).toEqual(expect.arrayContaining(['core/platform.ts', 'app/services.ts', 'dashboards/boards/']));
  });

  it.each(paths.filter((p) => p.includes('/') && !p.includes('*')))('names %s, which exists', (path) => {
    expect(existsSync(join(root, path)), `${path} is named in docs/architecture.md`).toBe(true);
  });

  it.each(paths.filter((p) => !p.includes('/') && FILE.test(p)))(
    'names the file %s, which exists somewhere in the repository',
    (name) => {
      expect(trackedNames.has(name), `${name} is named in docs/architecture.md`).toBe(true);
    },
  );
});
