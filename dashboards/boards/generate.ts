import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BoardSpec } from './board-model.ts';
import { BOARDS } from './boards.ts';
import { renderBoard } from './render-board.ts';

/**
 * Writes every board's Grafana JSON into dashboards/grafana/dashboards/ (`npm run
 * dashboards:build`); `--check` writes nothing and fails when a committed file differs.
 */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../grafana/dashboards/', import.meta.url));

export function boardJson(board: BoardSpec): string {
  return `${JSON.stringify(renderBoard(board), null, 2)}\n`;
}

function main(args: string[]): void {
  const check = args.includes('--check');
  const stale: string[] = [];
  mkdirSync(DASHBOARDS_DIR, { recursive: true });
  for (const board of BOARDS) {
    const path = `${DASHBOARDS_DIR}${board.file}`;
    const json = boardJson(board);
    if (check) {
      let committed = '';
      try {
        committed = readFileSync(path, 'utf8');
      } catch {
        committed = '';
      }
      if (committed !== json) stale.push(board.file);
    } else {
      writeFileSync(path, json);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`out of date (run npm run dashboards:build): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
