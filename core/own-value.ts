/**
 * Lookups keyed by what a client sent (a stream id, a user id, a file name) must never reach
 * `Object.prototype`: `roles['constructor']` is a function, `outputs['__proto__']` an object.
 * These read and build plain-object maps by own keys only.
 */

/** `record[key]` if `key` is the record's own property, else undefined. */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A record without a prototype, so no key (not even `__proto__`) means anything but its entry. */
export function recordOf<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const record = Object.create(null) as Record<string, V>;
  for (const [key, value] of entries) record[key] = value;
  return record;
}
