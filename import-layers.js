// The direction of imports (docs/architecture.md, "Layers"), as eslint rules. From the top:
// app/ composes the services and the CLI; tools/ (simulator, synthetic stream, demo) drive the
// platform from outside; each service uses only core/; core/ uses nothing above it. Tests (and
// test/, bench/, eval/, training/) may import anything: an integration test composes services.
// Import specifiers are relative paths, so a folder is recognised by the `../` climb that reaches it.

/** Service folders; each may import core/ and itself, never another. */
export const SERVICES = [
  'ingest-api',
  'chat-gateway',
  'clip-worker',
  'dashboards',
  'stream-processors/moderation',
  'stream-processors/host-prompts',
  'stream-processors/viewer-analytics',
  'stream-processors/sinks',
  'stream-processors/highlights',
];

/** Files that are tests or test fixtures, which the layers leave alone. */
export const TEST_FILES = ['**/*.test.ts', '**/*.contract.ts', '**/testing/**', '**/*test-kit.ts'];

const TEST_SIDE = ['test', 'bench', 'eval', 'training'];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A regex source matching a relative import specifier that climbs into `folder` (a repo-root path). */
function into(folder, from) {
  const [top, sub] = folder.split('/');
  // Inside stream-processors/, a sibling service is `../moderation/…`; from elsewhere it is `../stream-processors/moderation/…`.
  if (sub && from.startsWith(`${top}/`)) return `^(\\.\\./)+(${escape(top)}/)?${escape(sub)}(/|$)`;
  return `^(\\.\\./)+${escape(folder)}(/|$)`;
}

/** Every folder-level target a file in `from` must not import; stream-processors counts as one from outside. */
function targets(from, forbidden) {
  const outside = !from.startsWith('stream-processors/');
  const folders = forbidden.flatMap((folder) =>
    folder === 'services' ? SERVICES.filter((s) => s !== from) : [folder],
  );
  const collapsed = outside
    ? [...new Set(folders.map((f) => (f.startsWith('stream-processors/') ? 'stream-processors' : f)))]
    : folders;
  return collapsed.filter((f) => f !== from);
}

/** eslint config blocks: for each layer, no-restricted-imports (static) and no-restricted-syntax (dynamic import()). */
function layer(from, forbidden, why) {
  const patterns = targets(from, forbidden).map((folder) => ({
    regex: into(folder, from),
    message: `${from}/ must not import ${folder}/: ${why}`,
  }));
  // esquery reads `/` as the end of a regex, so the dynamic-import selector spells it \x2F.
  const dynamic = patterns.map(({ regex, message }) => ({
    selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`,
    message,
  }));
  return {
    files: [`${from}/**/*.ts`, `${from}/**/*.js`],
    ignores: TEST_FILES,
    rules: { 'no-restricted-imports': ['error', { patterns }], 'no-restricted-syntax': ['error', ...dynamic] },
  };
}

const SERVICE_RULE = 'a service uses only core/ (put what services share there)';

export const importLayers = [
  layer('core', ['services', 'app', 'tools', 'infra', ...TEST_SIDE], 'core/ is the bottom layer'),
  ...SERVICES.map((service) => layer(service, ['services', 'app', 'tools', 'infra', ...TEST_SIDE], SERVICE_RULE)),
  layer('tools', ['app', ...TEST_SIDE], 'tools drive the platform from outside; the CLI (app/) calls them'),
  layer('app', TEST_SIDE, 'product code does not load tests'),
  layer('infra/local', ['services', 'app', 'tools', ...TEST_SIDE], 'the local services know only core/'),
  layer('infra/deploy', ['tools', ...TEST_SIDE], 'deployment checks read the app and services, not tests'),
];
