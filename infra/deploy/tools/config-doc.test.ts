import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, configVariables, REGENERATE, renderTable, withGeneratedTables } from './config-doc.ts';

describe('docs/configuration.md', () => {
  it(`is what the config sections generate (run ${REGENERATE} to refresh it)`, () => {
    const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(withGeneratedTables(doc) === doc, `docs/configuration.md is stale: run ${REGENERATE}`).toBe(true);
  });

  it('documents each variable once, under the first section that reads it', () => {
    const names = configVariables().map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(configVariables().find((v) => v.name === 'LIVEPULSE_DATA_DIR')?.section).toBe('server');
    expect(configVariables().find((v) => v.name === 'OPENAI_CHAT_MODEL')?.section).toBe('ai');
  });
});

describe('renderTable', () => {
  it.each([
    [{ defaultValue: '5', description: 'a number' }, '| `X` | `5` | a number |'],
    [
      { defaultValue: 'full', description: 'a choice', allowed: ['full', 'normal'] },
      '| `X` | `full` | a choice (one of `full`, `normal`) |',
    ],
    [{ defaultValue: '', description: 'a prefix' }, '| `X` | empty | a prefix |'],
    [
      { defaultValue: 'full', description: '`full` or `normal`', allowed: ['full', 'normal'] },
      '| `X` | `full` | `full` or `normal` |',
    ],
    [{ description: 'a user name' }, '| `X` | — | a user name |'],
    [{ unset: '— (off)', description: 'a | b' }, '| `X` | — (off) | a \\| b |'],
  ])('renders %o', (variable, row) => {
    expect(renderTable([{ section: 'server', name: 'X', ...variable }]).split('\n')[2]).toBe(row);
  });
});

describe('withGeneratedTables', () => {
  it('refuses a doc without a table for every section', () => {
    expect(() => withGeneratedTables('# nothing here\n')).toThrow(/no table for section server/);
  });
});
