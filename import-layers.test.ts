import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The layering rules of import-layers.js, run through the repository's own eslint config on
// code placed (virtually) in each folder. Without type-aware linting: the project service knows
// only files on disk, and the layering rules need no types.
const eslint = new ESLint({
  cwd: fileURLToPath(new URL('.', import.meta.url)),
  overrideConfig: tseslint.configs.disableTypeChecked,
});

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  // A file that does not parse is linted by no rule: its "no layering error" would mean nothing.
  const fatal = result!.messages.find((m) => m.fatal);
  if (fatal) throw new Error(`${file} was not linted: ${fatal.message}`);
  return result!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

describe('import layers', () => {
  it.each([
    // core is the bottom layer
    [
      'core/analytics/x.ts',
      "import { a } from '../../stream-processors/sinks/clickhouse-sink.ts';",
      'core/ must not import stream-processors/',
    ],
    ['core/x.ts', "import { a } from '../chat-gateway/service.ts';", 'core/ must not import chat-gateway/'],
    ['core/x.ts', "import { SERVICES } from '../app/services.ts';", 'core/ must not import app/'],
    ['core/x.ts', "import { a } from '../tools/simulator/simulate.ts';", 'core/ must not import tools/'],
    ['core/x.ts', "import { a } from '../infra/local/process-supervisor.ts';", 'core/ must not import infra/'],
    ['core/bus/x.ts', "import { waitFor } from '../../test/wait-for.ts';", 'core/ must not import test/'],
    ['core/x.ts', "const m = await import('../dashboards/query-api/service.ts');", 'core/ must not import dashboards/'],
    // a service imports core only
    [
      'dashboards/boards/x.ts',
      "import { a } from '../../stream-processors/viewer-analytics/service.ts';",
      'dashboards/ must not import stream-processors/',
    ],
    [
      'chat-gateway/x.ts',
      "import { a } from '../clip-worker/service.ts';",
      'chat-gateway/ must not import clip-worker/',
    ],
    [
      'stream-processors/host-prompts/x.ts',
      "import { a } from '../moderation/service.ts';",
      'stream-processors/host-prompts/ must not import stream-processors/moderation/',
    ],
    [
      'stream-processors/sinks/x.ts',
      "import { a } from '../../stream-processors/viewer-analytics/service.ts';",
      'stream-processors/sinks/ must not import stream-processors/viewer-analytics/',
    ],
    ['ingest-api/x.ts', "import { a } from '../tools/simulator/simulate.ts';", 'ingest-api/ must not import tools/'],
    ['clip-worker/x.ts', "import { a } from '../test/services.ts';", 'clip-worker/ must not import test/'],
    [
      'stream-processors/highlights/x.ts',
      "const m = await import('../../app/services.ts');",
      'stream-processors/highlights/ must not import app/',
    ],
    // tools drive the platform from outside, app composes
    ['tools/demo/x.ts', "import { SERVICES } from '../../app/services.ts';", 'tools/ must not import app/'],
    ['app/cli/x.ts', "import { waitFor } from '../../test/wait-for.ts';", 'app/ must not import test/'],
    [
      'infra/local/x.ts',
      "import { a } from '../../ingest-api/service.ts';",
      'infra/local/ must not import ingest-api/',
    ],
  ])('%s: %s is refused', async (file, code, message) => {
    const errors = await layeringErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  it.each([
    ['core/analytics/x.ts', "import { a } from '../schemas/highlight.ts';"],
    ['stream-processors/host-prompts/x.ts', "import { a } from '../../core/moderation/term-rules.ts';"],
    ['stream-processors/moderation/x.ts', "import { a } from './service.ts';"],
    ['dashboards/query-api/x.ts', "import { a } from '../reports/report-data.ts';"],
    ['app/x.ts', "import { a } from '../stream-processors/sinks/clickhouse-sink.ts';"],
    ['app/cli/x.ts', "const m = await import('../../tools/demo/run.ts');"],
    ['tools/demo/x.ts', "import { a } from '../../clip-worker/ffmpeg/ffmpeg.ts';"],
    ['infra/deploy/tools/x.ts', "import { SERVICES } from '../../../app/services.ts';"],
    // tests compose services and use the shared fixtures
    ['core/bus/x.int.test.ts', "import { waitFor } from '../../test/wait-for.ts';"],
    ['stream-processors/sinks/x.int.test.ts', "import { a } from '../../tools/simulator/ground-truth.ts';"],
    ['chat-gateway/testing/x.ts', "import { waitFor } from '../../test/wait-for.ts';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await layeringErrors(file, code)).toEqual([]);
  });
});
