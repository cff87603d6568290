import { z } from 'zod';

/**
 * The shapes an environment variable's text is read as. Every field of a section is one of these
 * with a `.describe()` text: docs/configuration.md is generated from them.
 */

/** Unset and empty (or blank) are the same: the variable is not set. */
export const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
export const intBetween = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

export const brokerList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine((brokers) => brokers.length > 0 && brokers.every((b) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(b)), {
    message: 'must be a comma-separated list of host:port',
  });

/**
 * The reference's default cell for a variable whose schema default does not say what unset means
 * (an optional variable that switches a port, or a default resolved from other variables).
 */
export function whenUnset<T extends z.ZodType>(field: T, meaning: string): T {
  return field.meta({ unset: meaning });
}

/**
 * A section: its variables, rules among them (each problem names its variable), and the part of
 * `Config` it makes. Rules run only once every section has parsed, so that all problems are
 * reported together with the cross-section ones.
 */
export interface ConfigSection<Variables extends z.ZodObject, Part> {
  variables: Variables;
  rules?: (values: z.output<Variables>) => string[];
  toConfig: (values: z.output<Variables>) => Part;
}

export function configSection<Variables extends z.ZodObject, Part>(
  section: ConfigSection<Variables, Part>,
): ConfigSection<Variables, Part> {
  return section;
}
