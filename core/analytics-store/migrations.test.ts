import { describe, expect, it } from 'vitest';
import { SqlSplitError, splitSqlStatements } from './migrations.ts';

describe('splitSqlStatements', () => {
  it.each([
    { case: 'one statement without a semicolon', sql: 'SELECT 1', statements: ['SELECT 1'] },
    {
      case: 'statements at line ends',
      sql: 'CREATE TABLE a (x UInt8) ENGINE = Memory;\nCREATE TABLE b (x UInt8) ENGINE = Memory;\n',
      statements: ['CREATE TABLE a (x UInt8) ENGINE = Memory', 'CREATE TABLE b (x UInt8) ENGINE = Memory'],
    },
    { case: 'statements on one line', sql: 'SELECT 1; SELECT 2', statements: ['SELECT 1', 'SELECT 2'] },
    { case: 'a statement over several lines', sql: 'SELECT\n  1\nFROM t;', statements: ['SELECT\n  1\nFROM t'] },
    { case: '; inside a string', sql: "SELECT 'a;b'; SELECT 2", statements: ["SELECT 'a;b'", 'SELECT 2'] },
    {
      case: 'backslash-escaped quote inside a string',
      sql: "SELECT 'it\\'s;'; SELECT 2",
      statements: ["SELECT 'it\\'s;'", 'SELECT 2'],
    },
    {
      case: 'doubled quote inside a string',
      sql: "SELECT 'it''s;'; SELECT 2",
      statements: ["SELECT 'it''s;'", 'SELECT 2'],
    },
    {
      case: '; inside quoted identifiers',
      sql: 'SELECT 1 AS "a;b", 2 AS `c;d`; SELECT 3',
      statements: ['SELECT 1 AS "a;b", 2 AS `c;d`', 'SELECT 3'],
    },
    {
      case: '; inside a line comment',
      sql: '-- first; second\nSELECT 1;\nSELECT 2 -- trailing;\n;',
      statements: ['-- first; second\nSELECT 1', 'SELECT 2 -- trailing;'],
    },
    {
      case: '; inside a block comment',
      sql: '/* a; b */ SELECT 1; SELECT /* ; */ 2',
      statements: ['/* a; b */ SELECT 1', 'SELECT /* ; */ 2'],
    },
    {
      case: 'nested block comments',
      sql: '/* outer /* inner; */ still; comment */ SELECT 1; SELECT 2',
      statements: ['/* outer /* inner; */ still; comment */ SELECT 1', 'SELECT 2'],
    },
    {
      case: 'quotes inside comments do not open strings',
      sql: "-- it's\nSELECT 1; /* don't */ SELECT 2",
      statements: ["-- it's\nSELECT 1", "/* don't */ SELECT 2"],
    },
    {
      case: 'comment-only and empty pieces are dropped',
      sql: ';;\n-- header only\n;\nSELECT 1;\n/* footer */\n',
      statements: ['SELECT 1'],
    },
    { case: 'empty text', sql: '   \n', statements: [] },
    { case: 'CRLF line endings', sql: 'SELECT 1;\r\nSELECT 2;\r\n', statements: ['SELECT 1', 'SELECT 2'] },
  ])('$case', ({ sql, statements }) => {
    expect(splitSqlStatements(sql)).toEqual(statements);
  });

  it.each([
    { case: 'an unterminated string', sql: "SELECT 'abc; SELECT 2", offset: 7 },
    { case: 'a string ending in a backslash', sql: "SELECT 'abc\\", offset: 7 },
    { case: 'an unterminated quoted identifier', sql: 'SELECT 1 AS "abc', offset: 12 },
    { case: 'an unterminated block comment', sql: 'SELECT 1; /* never /* closed */', offset: 10 },
  ])('rejects $case with its offset', ({ sql, offset }) => {
    expect(() => splitSqlStatements(sql)).toThrow(SqlSplitError);
    expect(() => splitSqlStatements(sql)).toThrow(expect.objectContaining({ offset }) as Error);
  });
});
