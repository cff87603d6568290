import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSections } from '../../../core/config/sections.ts';
import { REPO_DIR } from './validators.ts';

/**
 * The variable tables of docs/configuration.md, generated from the sections of core/config/: each
 * variable's default and `.describe()` text, and the values an enum allows. The prose around
 * the tables is written by hand; each table sits between markers naming its section.
 * config-doc.test.ts fails when the file is stale:
 *
 *   npm run docs:config
 */

export const CONFIGURATION_DOC = join(REPO_DIR, 'docs', 'configuration.md');
export const REGENERATE = 'npm run docs:config';

export type SectionName = keyof typeof configSections;

export interface ConfigVariable {
  section: SectionName;
  name: string;
  /** The schema's default as text; undefined when the variable has none. */
  defaultValue?: string;
  /** What an unset variable means, where the default alone does not say it. */
  unset?: string;
  description: string;
  /** The values an enum allows (not for booleans, which read true/false, 1/0, yes/no). */
  allowed?: string[];
}

/** Every variable once, in the first section that reads it, in the order the sections list them. */
export function configVariables(): ConfigVariable[] {
  const seen = new Set<string>();
  const variables: ConfigVariable[] = [];
  for (const [section, { variables: schema }] of Object.entries(configSections)) {
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      if (seen.has(name)) continue;
      seen.add(name);
      variables.push(describeVariable(section as SectionName, name, field));
    }
  }
  return variables;
}

function describeVariable(section: SectionName, name: string, field: z.ZodType): ConfigVariable {
  const meta = field.meta() ?? {};
  if (typeof meta.description !== 'string') throw new Error(`${name}: the section gives it no .describe() text`);
  const parsed = field.safeParse(undefined);
  const defaultValue = parsed.success && parsed.data !== undefined ? defaultText(parsed.data) : undefined;
  const jsonSchema = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' });
  const allowed =
    Array.isArray(jsonSchema.enum) && typeof parsed.data !== 'boolean' ? jsonSchema.enum.map(String) : undefined;
  return {
    section,
    name,
    ...(defaultValue !== undefined && { defaultValue }),
    ...(typeof meta.unset === 'string' && { unset: meta.unset }),
    description: meta.description,
    ...(allowed && { allowed }),
  };
}

function defaultText(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

export function renderTable(variables: ConfigVariable[]): string {
  const rows = variables.map((v) => {
    const defaultCell =
      v.unset ?? (v.defaultValue === undefined ? '—' : v.defaultValue === '' ? 'empty' : `\`${v.defaultValue}\``);
    // Descriptions that explain each value already name them all.
    const unnamed = v.allowed?.some((value) => !v.description.includes(`\`${value}\``));
    const allowed = unnamed ? ` (one of ${v.allowed!.map((a) => `\`${a}\``).join(', ')})` : '';
    return `| \`${v.name}\` | ${cell(defaultCell)} | ${cell(v.description + allowed)} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

const start = (section: string) =>
  `<!-- config:${section}:start (generated from core/config/ by ${REGENERATE}; do not edit) -->`;
const end = (section: string) => `<!-- config:${section}:end -->`;

/** The doc with every section's table generated afresh; a missing or unknown marker is an error. */
export function withGeneratedTables(doc: string, variables = configVariables()): string {
  const known = new Set<string>(Object.keys(configSections));
  const marked = [...doc.matchAll(/<!-- config:([A-Za-z]+):start/g)].map((m) => m[1]!);
  const unknown = marked.filter((section) => !known.has(section));
  const missing = [...known].filter((section) => !marked.includes(section));
  if (unknown.length > 0 || missing.length > 0) {
    throw new Error(
      `docs/configuration.md: ${[...missing.map((s) => `no table for section ${s}`), ...unknown.map((s) => `no section ${s}`)].join('; ')}`,
    );
  }
  let fresh = doc;
  for (const section of known) {
    const from = fresh.indexOf(`<!-- config:${section}:start`);
    const to = fresh.indexOf(end(section));
    if (to < from) throw new Error(`docs/configuration.md: the end marker of section ${section} is missing`);
    const table = renderTable(variables.filter((v) => v.section === section));
    fresh = `${fresh.slice(0, from)}${start(section)}\n${table}\n${fresh.slice(to)}`;
  }
  return fresh;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
  writeFileSync(CONFIGURATION_DOC, withGeneratedTables(doc));
  process.stdout.write(`docs/configuration.md: tables of ${configVariables().length} variables written\n`);
}
