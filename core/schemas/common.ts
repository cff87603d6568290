import { Type } from '@sinclair/typebox';

/** Identifiers coming from clients: bounded, printable, no control characters. */
export const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@/+=-]+$', description });

/** Unix epoch milliseconds between 2020-01-01 and 2100-01-01: rejects seconds, zero and garbage. */
export const EpochMs = (description: string) =>
  Type.Integer({ minimum: 1_577_836_800_000, maximum: 4_102_444_800_000, description });

/** A non-negative duration or counter in milliseconds, capped at 30 days. */
export const DurationMs = (description: string) => Type.Integer({ minimum: 0, maximum: 2_592_000_000, description });

export const Count = (description: string) => Type.Integer({ minimum: 0, maximum: 1_000_000_000, description });

export const ShortText = (description: string, maxLength = 256) => Type.String({ maxLength, description });
