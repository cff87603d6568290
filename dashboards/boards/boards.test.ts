import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clickHouseQueries, type BoardSpec } from './board-model.ts';
import { BOARDS } from './boards.ts';
import { createDashboardValidator } from './dashboard-schema.ts';
import { boardJson, DASHBOARDS_DIR } from './generate.ts';
import { macroCalls, swallowingCalls } from './grafana-macros.ts';

type GridPanel = {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<Record<string, unknown>>;
};

const parsed = (board: BoardSpec) =>
  JSON.parse(boardJson(board)) as {
    uid: string;
    refresh: string;
    panels: GridPanel[];
    templating: { list: Array<{ name: string }> };
  };
const validate = createDashboardValidator();

describe.each(BOARDS.map((b) => [b.uid, b] as const))('board %s', (_uid, board) => {
  it('is committed as the generator writes it (npm run dashboards:build)', () => {
    expect(readFileSync(`${DASHBOARDS_DIR}${board.file}`, 'utf8')).toBe(boardJson(board));
  });

  it("passes Grafana's dashboard schema", () => {
    expect(validate(parsed(board))).toEqual([]);
  });

  it('lays out its panels on the 24-column grid without overlaps, with unique ids', () => {
    const { panels } = parsed(board);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const { gridPos } of panels) {
      expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `cell ${x},${y} used twice`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("renders each panel's queries as the spec states them, each with its refId and datasource", () => {
    const rendered = parsed(board).panels.filter((p) => p.type !== 'row');
    const specs = board.rows.flatMap((row) => row.panels);
    expect(rendered.map((panel) => panel.title)).toEqual(specs.map((spec) => spec.title));
    specs.forEach((spec, i) => {
      const expected = spec.targets.map((target, t) => ({
        refId: String.fromCharCode(65 + t),
        ...(target.source === 'clickhouse'
          ? { rawSql: target.sql, datasource: { uid: 'livepulse-clickhouse' } }
          : { expr: target.expr, legendFormat: target.legend, datasource: { uid: 'livepulse-prometheus' } }),
      }));
      expect(spec.targets.length, spec.title).toBeGreaterThan(0);
      expect(rendered[i]!.targets, spec.title).toMatchObject(expected);
    });
  });

  it('uses only macros the plugin knows, never one that swallows later text, and only declared variables', () => {
    const declared = new Set(board.variables.map((v) => v.name));
    for (const { where, sql } of clickHouseQueries(board)) {
      expect(swallowingCalls(sql), where).toEqual([]);
      const unknownMacros = [...sql.matchAll(/\$__(\w+)/g)]
        .map((m) => m[1]!)
        .filter((name) => name !== 'conditionalAll' && !macroCalls(sql).some((c) => c.name === name));
      expect(unknownMacros, where).toEqual([]);
      const variables = [...sql.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(?!__)(\w+)/g)].map((m) => m[1] ?? m[2]!);
      expect(
        variables.filter((v) => !declared.has(v)),
        where,
      ).toEqual([]);
    }
  });
});

describe('the boards together', () => {
  it('refresh every 5 s where they are live', () => {
    const live = BOARDS.filter((b) => b.tags.includes('live')).map((b) => [b.uid, b.refresh]);
    expect(live).toEqual([
      ['livepulse-live-overview', '5s'],
      ['livepulse-stream', '5s'],
      ['livepulse-chat-moderation', '5s'],
    ]);
  });

  it('have unique uids and files', () => {
    expect(new Set(BOARDS.map((b) => b.uid)).size).toBe(BOARDS.length);
    expect(new Set(BOARDS.map((b) => b.file)).size).toBe(BOARDS.length);
  });

  it('the schema check rejects what Grafana would not load', () => {
    const broken = parsed(BOARDS[0]!) as unknown as Record<string, unknown>;
    expect(validate({ ...broken, schemaVersion: 'latest' })).not.toEqual([]);
    expect(validate({ ...broken, panels: [{ type: 'timeseries', gridPos: { x: 0, y: 0, w: 30, h: 8 } }] })).not.toEqual(
      [],
    );
    expect(validate({ ...broken, unexpected: true })).not.toEqual([]);
  });
});
