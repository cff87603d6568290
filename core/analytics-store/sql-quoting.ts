// Literals and identifiers spliced into ClickHouse SQL where a bound parameter cannot go (SET, USE, DDL).

/** A ClickHouse string literal with `\` and `'` escaped. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A ClickHouse identifier in backquotes, for names we do not control (e.g. a test's database). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
