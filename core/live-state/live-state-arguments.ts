/**
 * Argument checks shared by every LiveState adapter, so a bad call fails the same way
 * (RangeError, before any I/O) in memory as on Redis, instead of as a Redis reply error.
 */
export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

export function assertSafeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer, got ${value}`);
}
