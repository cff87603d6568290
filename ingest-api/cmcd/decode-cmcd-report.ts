import { decodeCmcd, validateCmcd, type CmcdData, type CmcdV2Data } from '@svta/cml-cmcd';
import type { FieldError } from '../../core/schemas/validate.ts';

/**
 * Decodes a CMCD v2 event-mode report (`Content-Type: application/cmcd`: one CMCD string per
 * line, as hls.js `cmcd.eventTargets`, Shaka and dash.js send it) with @svta/cml-cmcd and
 * validates each line on its own against CTA-5004-B, so one bad line costs only itself.
 */
export interface CmcdLine {
  /** Line number within the report, from 0 (blank lines are not counted). */
  index: number;
  raw: string;
  /** Validated as version 2, so inner-list keys are lists and `v` is 2. */
  data: CmcdV2Data;
}

export interface RejectedCmcdLine {
  index: number;
  raw: string;
  errors: FieldError[];
}

export interface DecodedCmcdReport {
  lines: CmcdLine[];
  rejected: RejectedCmcdLine[];
}

/** A CMCD line carries a few dozen short keys; kilobytes of it are not a report. */
export const MAX_CMCD_LINE_LENGTH = 4_096;

export class TooManyCmcdLinesError extends Error {
  constructor(
    readonly lines: number,
    readonly limit: number,
  ) {
    super(`the report has ${lines} lines; at most ${limit} are accepted per request`);
    this.name = 'TooManyCmcdLinesError';
  }
}

export function decodeCmcdReport(body: string, maxLines: number): DecodedCmcdReport {
  const raws = body.split(/\r?\n/).filter((line) => line.trim().length > 0);
  if (raws.length > maxLines) throw new TooManyCmcdLinesError(raws.length, maxLines);
  const lines: CmcdLine[] = [];
  const rejected: RejectedCmcdLine[] = [];
  raws.forEach((raw, index) => {
    if (raw.length > MAX_CMCD_LINE_LENGTH) {
      rejected.push({
        index,
        raw: raw.slice(0, MAX_CMCD_LINE_LENGTH),
        errors: [{ path: '/', message: `line is longer than ${MAX_CMCD_LINE_LENGTH} characters` }],
      });
      return;
    }
    let data: CmcdData;
    try {
      data = decodeCmcd(raw.trim());
    } catch (error) {
      rejected.push({
        index,
        raw,
        errors: [{ path: '/', message: `not a CMCD structured-field dictionary: ${(error as Error).message}` }],
      });
      return;
    }
    const issues = validateCmcd(data as Record<string, unknown>, { version: 2, reportingMode: 'event' }).issues.filter(
      (i) => i.severity === 'error',
    );
    if (issues.length > 0) {
      rejected.push({
        index,
        raw,
        errors: issues.slice(0, 5).map((i) => ({ path: i.key ? `/${i.key}` : '/', message: i.message })),
      });
      return;
    }
    lines.push({ index, raw, data: data as CmcdV2Data });
  });
  return { lines, rejected };
}
