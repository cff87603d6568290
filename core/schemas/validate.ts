import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import './formats.ts';
import { illFormedTextErrors, isWellFormedValue } from './well-formed-text.ts';

/** One problem with one field, in the shape every API answer and dead letter uses. */
export interface FieldError {
  path: string;
  message: string;
}

export interface Validator<T extends TSchema> {
  readonly schema: T;
  check(this: void, value: unknown): value is Static<T>;
  /** At most `limit` errors, so a hostile payload cannot make the answer huge. */
  errors(this: void, value: unknown, limit?: number): FieldError[];
}

/**
 * Compiles a schema once; checking is then a plain function call on the hot path. Besides the
 * schema, every string and key must be well-formed Unicode text (well-formed-text.ts): no schema
 * anywhere accepts a lone surrogate.
 */
export function createValidator<T extends TSchema>(schema: T): Validator<T> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    schema,
    check: (value): value is Static<T> => compiled.Check(value) && isWellFormedValue(value),
    errors(value, limit = 10) {
      const found: FieldError[] = [];
      for (const error of compiled.Errors(value)) {
        found.push({ path: error.path || '/', message: error.message });
        if (found.length >= limit) break;
      }
      if (found.length < limit) found.push(...illFormedTextErrors(value, limit - found.length));
      return found;
    },
  };
}

/** Schema keywords that constrain a value's text or its extra fields, not what code reading it relies on. */
const TEXT_AND_CLOSURE_KEYWORDS = new Set([
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'additionalProperties',
  '$id',
]);

/** The schema without {@link TEXT_AND_CLOSURE_KEYWORDS}, TypeBox's kind symbols kept. */
function withoutTextAndClosure(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutTextAndClosure);
  if (schema === null || typeof schema !== 'object') return schema;
  const relaxed: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(schema)) {
    if (typeof key === 'string' && TEXT_AND_CLOSURE_KEYWORDS.has(key)) continue;
    relaxed[key] = withoutTextAndClosure((schema as Record<string | symbol, unknown>)[key]);
  }
  return relaxed;
}

/**
 * The schema's structure only: types, required fields, literals and numeric ranges, without
 * formats, patterns, string lengths and closed objects, and without the well-formed text walk.
 * For values a trusted producer already checked with the full validator: what code reading them
 * relies on (no field of the wrong type, no number out of range) still holds, at a third of the
 * cost. Compiled once, like {@link createValidator}.
 */
export function createStructureCheck<T extends TSchema>(schema: T): (value: unknown) => value is Static<T> {
  const compiled = TypeCompiler.Compile(withoutTextAndClosure(schema) as T);
  return (value): value is Static<T> => compiled.Check(value);
}

export class SchemaValidationError extends Error {
  constructor(
    readonly schemaName: string,
    readonly fieldErrors: FieldError[],
  ) {
    super(`${schemaName} is invalid: ${fieldErrors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
    this.name = 'SchemaValidationError';
  }
}

/** Validates and returns the typed value, or throws a SchemaValidationError naming the fields. */
export function assertValid<T extends TSchema>(validator: Validator<T>, value: unknown, schemaName: string): Static<T> {
  if (validator.check(value)) return value;
  throw new SchemaValidationError(schemaName, validator.errors(value));
}

/** A bus payload's JSON value, or undefined when the bytes are not JSON: validators then reject it with the rest. */
export function parseJsonPayload(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
