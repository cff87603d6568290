import { Worker } from 'node:worker_threads';

/**
 * Moderators may write blocked terms as regular expressions (Nightbot's `~/pattern/` syntax).
 * JavaScript regexes backtrack and cannot be interrupted, so one bad pattern ("(a+)+$") could
 * stall the gateway on every message. Before a pattern is accepted it must:
 *  - be at most 260 characters (Discord's AutoMod limit) and compile with the `iu` flags;
 *  - use no backreferences or lookarounds;
 *  - have star height 1: no quantified group that contains a quantifier, and no unbounded
 *    quantified group with alternatives (`(a|aa)*`), the shapes behind exponential backtracking;
 *  - have at most 4 unbounded quantifiers (bounds the polynomial cases like `\w*\w*\w*x`);
 *  - finish adversarial probe inputs (longer than any message) within a time budget, measured
 *    in a worker thread that is terminated at the deadline, since a hung regex cannot be
 *    interrupted on the thread running it.
 * `compileSafeRegex` does the synchronous checks; `assertRegexFinishesQuickly` the probe.
 */

export const MAX_REGEX_TERM_LENGTH = 260;
const MAX_UNBOUNDED_QUANTIFIERS = 4;
const PROBE_LENGTH = 2_000;
const PROBE_BUDGET_MS = 25;
/** Worker start-up plus every probe at its budget, with room for a busy machine. */
const PROBE_DEADLINE_MS = 3_000;

export class UnsafeRegexError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`regular expression ${JSON.stringify(pattern.slice(0, 80))} is not allowed: ${reason}`);
    this.name = 'UnsafeRegexError';
  }
}

interface GroupFrame {
  containsQuantifier: boolean;
  containsAlternation: boolean;
}

/** Reads the quantifier starting at `i`, if any: its length and whether it is unbounded. */
function readQuantifier(source: string, i: number): { length: number; unbounded: boolean } | null {
  const ch = source[i];
  let length = 0;
  let unbounded = false;
  if (ch === '*' || ch === '+') {
    length = 1;
    unbounded = true;
  } else if (ch === '?') {
    length = 1;
  } else if (ch === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 16));
    if (!match) return null;
    length = match[0].length;
    unbounded = match[2] !== undefined && match[3] === '';
  } else {
    return null;
  }
  if (source[i + length] === '?') length++; // lazy
  return { length, unbounded };
}

/** Throws UnsafeRegexError when `source` has a shape that can backtrack catastrophically. */
function checkStructure(source: string): void {
  const frames: GroupFrame[] = [{ containsQuantifier: false, containsAlternation: false }];
  let unboundedQuantifiers = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    let atomEnd = i + 1;
    let closedGroup: GroupFrame | null = null;
    if (ch === '\\') {
      const next = source[i + 1];
      if (next !== undefined && /[1-9k]/.test(next))
        throw new UnsafeRegexError(source, 'backreferences are not supported');
      atomEnd = i + 2;
    } else if (ch === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      atomEnd = j + 1;
    } else if (ch === '(') {
      if (
        source.startsWith('(?=', i) ||
        source.startsWith('(?!', i) ||
        source.startsWith('(?<=', i) ||
        source.startsWith('(?<!', i)
      ) {
        throw new UnsafeRegexError(source, 'lookahead and lookbehind are not supported');
      }
      frames.push({ containsQuantifier: false, containsAlternation: false });
      i += source.startsWith('(?:', i) ? 3 : 1;
      continue;
    } else if (ch === ')') {
      closedGroup = frames.pop() ?? null;
      if (!closedGroup || frames.length === 0) throw new UnsafeRegexError(source, 'unbalanced parentheses');
    } else if (ch === '|') {
      frames.at(-1)!.containsAlternation = true;
      i++;
      continue;
    }
    const quantifier = readQuantifier(source, atomEnd);
    const frame = frames.at(-1)!;
    if (closedGroup) {
      if (quantifier && closedGroup.containsQuantifier)
        throw new UnsafeRegexError(source, 'a repeated group contains a repetition (nested quantifiers)');
      if (quantifier?.unbounded && closedGroup.containsAlternation)
        throw new UnsafeRegexError(source, 'an unbounded repeated group contains alternatives');
      frame.containsQuantifier ||= closedGroup.containsQuantifier;
    }
    if (quantifier) {
      frame.containsQuantifier = true;
      if (quantifier.unbounded && ++unboundedQuantifiers > MAX_UNBOUNDED_QUANTIFIERS) {
        throw new UnsafeRegexError(source, `more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded repetitions`);
      }
    }
    i = atomEnd + (quantifier?.length ?? 0);
  }
  if (frames.length !== 1) throw new UnsafeRegexError(source, 'unbalanced parentheses');
}

/** Inputs that make backtracking regexes work hardest: long runs the pattern nearly accepts, then a mismatch. */
function probeInputs(source: string): string[] {
  const literalLetters = [...new Set(source.replace(/\\./g, '').match(/[\p{L}\p{N}]/gu) ?? [])].join('');
  const runs = ['a', ' ', '1', 'ab', 'a ', '\t', '.', '-', literalLetters || 'x', `${literalLetters} `];
  return runs.flatMap((run) => {
    const body = run.repeat(Math.ceil(PROBE_LENGTH / run.length)).slice(0, PROBE_LENGTH);
    return [`${body}\u0000`, `${body}!`];
  });
}

/**
 * Compiles a moderator's regular expression after the synchronous checks above,
 * case-insensitive and Unicode-aware. Throws UnsafeRegexError naming the problem.
 */
export function compileSafeRegex(source: string): RegExp {
  if (source.length === 0) throw new UnsafeRegexError(source, 'the pattern is empty');
  if (source.length > MAX_REGEX_TERM_LENGTH)
    throw new UnsafeRegexError(source, `longer than ${MAX_REGEX_TERM_LENGTH} characters`);
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'iu');
  } catch (error) {
    throw new UnsafeRegexError(source, error instanceof Error ? error.message : String(error));
  }
  checkStructure(source);
  if (regex.test('')) throw new UnsafeRegexError(source, 'the pattern matches an empty message');
  return regex;
}

// Runs in the worker: the slowest probe's time in ms, posted back.
const PROBE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const regex = new RegExp(workerData.source, 'iu');
let slowest = 0;
for (const input of workerData.inputs) {
  const started = performance.now();
  regex.test(input);
  slowest = Math.max(slowest, performance.now() - started);
}
parentPort.postMessage(slowest);
`;

/**
 * Times the pattern on adversarial probes in a worker thread; rejects with UnsafeRegexError when
 * a probe exceeds the budget or the worker has not finished by the deadline (it is then killed).
 */
export async function assertRegexFinishesQuickly(source: string, deadlineMs = PROBE_DEADLINE_MS): Promise<void> {
  const worker = new Worker(PROBE_WORKER, { eval: true, workerData: { source, inputs: probeInputs(source) } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const slowest = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UnsafeRegexError(source, `did not finish a ${PROBE_LENGTH}-character probe within ${deadlineMs} ms`),
          ),
        deadlineMs,
      );
      worker.once('message', (ms: number) => resolve(ms));
      worker.once('error', (error: Error) => reject(new UnsafeRegexError(source, error.message)));
    });
    if (slowest > PROBE_BUDGET_MS) {
      throw new UnsafeRegexError(
        source,
        `took ${slowest.toFixed(0)} ms on a ${PROBE_LENGTH}-character probe (budget ${PROBE_BUDGET_MS} ms)`,
      );
    }
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
