import { describe, expect, it } from 'vitest';
import { importOptional, OptionalModuleMissingError } from './optional-module.ts';

const needs = { neededFor: 'the embedded analytics store', remedy: 'run `npm install chdb`, or set CLICKHOUSE_URL' };

describe('importOptional', () => {
  it('answers an absent package with what needs it and what to do', async () => {
    // Typed as a plain string so the compiler does not try to resolve the absent package.
    const absentModule: string = 'livepulse-absent-package/connection';
    const attempt = importOptional(absentModule, () => import(absentModule), needs);
    await expect(attempt).rejects.toThrow(OptionalModuleMissingError);
    await expect(attempt).rejects.toThrow(
      'the embedded analytics store needs livepulse-absent-package/connection, an optional dependency that is not installed: run `npm install chdb`, or set CLICKHOUSE_URL',
    );
  });

  it('passes on the error of an installed package that cannot load one of its own modules', async () => {
    const broken = Object.assign(
      new Error("Cannot find package 'left-pad' imported from /x/node_modules/chdb/index.js"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    await expect(importOptional('chdb/connection', () => Promise.reject(broken), needs)).rejects.toBe(broken);
  });

  it('returns an installed package', async () => {
    const commander = await importOptional('commander', () => import('commander'), needs);
    expect(commander.Command).toBeTypeOf('function');
  });
});
