import { isUtf8 } from 'node:buffer';

/**
 * Parses a request body as JSON the way a collector facing the open internet must: the bytes
 * must be UTF-8, the text must be JSON, and no object may carry `__proto__` or a
 * `constructor.prototype` (secure-json-parse's rule), so nothing downstream that merges
 * objects can be tricked into changing prototypes. The error says which rule failed and where.
 */
export class MalformedBodyError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'MalformedBodyError';
  }
}

// A forbidden key may be written with \u escapes; these only pick bodies worth the full walk.
const SUSPECT_PROTO =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;
const SUSPECT_CONSTRUCTOR =
  /"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"\s*:/;

export function parseStrictJson(body: Buffer | string): unknown {
  if (typeof body !== 'string' && !isUtf8(body)) throw new MalformedBodyError('body is not valid UTF-8');
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim().length === 0) throw new MalformedBodyError('body is empty; expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MalformedBodyError(`body is not valid JSON: ${(error as Error).message}`);
  }
  const checkProto = SUSPECT_PROTO.test(text);
  const checkConstructor = SUSPECT_CONSTRUCTOR.test(text);
  if (checkProto || checkConstructor) {
    const where = findForbiddenKey(value, checkProto, checkConstructor);
    if (where) throw new MalformedBodyError(`body contains the forbidden key ${where.key} at ${where.path || '/'}`);
  }
  return value;
}

/** Iterative, so a deeply nested body cannot overflow the stack. */
function findForbiddenKey(root: unknown, proto: boolean, constructor: boolean): { key: string; path: string } | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (!Array.isArray(value)) {
      if (proto && Object.prototype.hasOwnProperty.call(value, '__proto__')) return { key: '__proto__', path };
      if (constructor && Object.prototype.hasOwnProperty.call(value, 'constructor')) {
        const inner = (value as Record<string, unknown>).constructor;
        if (inner !== null && typeof inner === 'object' && Object.prototype.hasOwnProperty.call(inner, 'prototype')) {
          return { key: 'constructor.prototype', path };
        }
      }
    }
    for (const [key, child] of Object.entries(value)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, path: `${path}/${key}` });
    }
  }
  return null;
}

/** True when a value nests deeper than `max` (iterative; stops at the first too-deep branch). */
export function nestsDeeperThan(root: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}
