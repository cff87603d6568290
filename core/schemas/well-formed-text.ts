import type { FieldError } from './validate.ts';

/**
 * Text that is not well-formed Unicode — a lone UTF-16 surrogate, which JSON's `\ud800` escape
 * can carry although no UTF-8 byte sequence can — is refused wherever a schema checks a value.
 * ClickHouse, Snowflake and most JSON parsers outside JavaScript refuse it, so a single such
 * string accepted at the edge would fail every write of the batch holding it. JSON Schema has no
 * keyword for it, so every validator (validate.ts) adds this walk to the schema's own check.
 */

/** In a `u` regex a surrogate pair is one code point, so only lone surrogates match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

const isWellFormed = (text: string) => !LONE_SURROGATE.test(text);

/** A JSON pointer segment (RFC 6901), as TypeBox writes error paths. */
const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

const describe = (text: string) => {
  const at = text.search(LONE_SURROGATE);
  return `lone surrogate U+${text.charCodeAt(at).toString(16).toUpperCase()} at character ${at}`;
};

/**
 * Every string value and object key in `root` that is not well-formed, at most `limit` of them.
 * Iterative, so a deeply nested value cannot overflow the stack.
 */
export function illFormedTextErrors(root: unknown, limit = 10): FieldError[] {
  const found: FieldError[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  while (stack.length > 0 && found.length < limit) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (!isWellFormed(value))
        found.push({ path: path || '/', message: `must be well-formed Unicode text (${describe(value)})` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const entries = Array.isArray(value)
      ? (value as unknown[]).map((child, i) => [String(i), child] as const)
      : Object.entries(value);
    // Pushed in reverse, so the errors come out in document order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (!isWellFormed(key)) {
        // The key itself cannot be printed; its JSON spelling can.
        found.push({
          path: path || '/',
          message: `has the key ${JSON.stringify(key)}, which is not well-formed Unicode text (${describe(key)})`,
        });
        continue;
      }
      stack.push({ value: child, path: `${path}/${pointerSegment(key)}` });
    }
  }
  return found.slice(0, limit);
}

/** True when every string value and key in `root` is well-formed (the fast path: no paths built). */
export function isWellFormedValue(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return false;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (const child of value) stack.push(child);
      continue;
    }
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      if (!isWellFormed(key)) return false;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return true;
}
