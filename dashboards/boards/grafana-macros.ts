/**
 * What a panel's SQL becomes before ClickHouse runs it, done the way Grafana 12 with
 * grafana-clickhouse-datasource 4.x does it, so the boards' SQL can be run here without Grafana:
 *
 * 1. In the browser (`CHDatasource.applyTemplateVariables`): every `$__conditionalAll(cond, $var)`
 *    becomes `1=1` when the variable is All (or empty) and `cond` otherwise, then the template
 *    variables are replaced (the datasource's own formatter joins multi-values as `'a','b'`;
 *    `${var:singlequote}`, `${var:csv}`, `${var:raw}` as Grafana formats them).
 * 2. In the plugin's backend (`sqlutil.Interpolate` with the plugin's `pkg/macros`): the time
 *    macros. A macro's arguments are whatever sits between the first `(` after its name and the
 *    matching `)`, even far from the name: `$__fromTime AND f(x)` swallows `AND f(x)`. Boards
 *    therefore close argument-less macros with `)` first, e.g. `($__fromTime)`; `macroCalls`
 *    finds the ones that do not.
 *
 * Sources: grafana/clickhouse-datasource src/data/CHDatasource.ts (applyConditionalAll,
 * getMacroArgs, format), pkg/macros/macros.go; grafana/grafana-plugin-sdk-go
 * data/sqlutil/macros.go (getMacroMatches, Interpolate, the default timeFrom/timeTo);
 * Grafana's templateSrv variable regex and its singlequote/csv/raw formats.
 */

/** A template variable's state on the dashboard: its selection and the options it offers. */
export interface VariableState {
  /** `all` when "All" is selected (the variable must offer it); otherwise the selected values. */
  current: 'all' | string[];
  /** Every option's value (what All stands for when the variable has no custom all value). */
  options: string[];
  /** A multi-value variable's value is a list even with one value selected. */
  multi: boolean;
}

export interface GrafanaQueryContext {
  /** The panel's time range, epoch milliseconds. */
  fromMs: number;
  toMs: number;
  /** The interval Grafana picked for the panel (`$__interval`), milliseconds. */
  intervalMs: number;
  variables: Record<string, VariableState>;
}

export class MacroError extends Error {
  override name = 'MacroError';
}

// ---------------------------------------------------------------- browser side

const CONDITIONAL_ALL = '$__conditionalAll(';

/** CHDatasource.getMacroArgs: the top-level comma-separated arguments of the call whose `(` is at `openIndex`. */
function conditionalAllArgs(query: string, openIndex: number): string[] {
  const args: string[] = [];
  const separators = /\(|\)|,/g;
  let depth = 0;
  let lastArgEnd = 1;
  const rest = query.slice(openIndex);
  let match: RegExpExecArray | null;
  while ((match = separators.exec(rest)) !== null) {
    if (match[0] === '(') depth++;
    else if (match[0] === ')') depth--;
    if (match[0] === ',' && depth === 1) {
      args.push(rest.slice(lastArgEnd, separators.lastIndex - 1));
      lastArgEnd = separators.lastIndex;
    }
    if (depth === 0) {
      args.push(rest.slice(lastArgEnd, separators.lastIndex - 1));
      return args;
    }
  }
  return [];
}

/** The value Grafana's `current.value.toString()` gives for a variable state. */
function currentValueString(state: VariableState): string {
  if (state.current === 'all') return '$__all';
  return state.multi ? state.current.join(',') : (state.current[0] ?? '');
}

export function applyConditionalAll(query: string, variables: Record<string, VariableState>): string {
  let index = query.lastIndexOf(CONDITIONAL_ALL);
  while (index !== -1) {
    const params = conditionalAllArgs(query, index + CONDITIONAL_ALL.length - 1);
    if (params.length !== 2) return query;
    const [condition, variable] = params as [string, string];
    const name = /(?<=\$\{)[\w\d]+(?=\})|(?<=\$)[\w\d]+/.exec(variable.trim());
    let phrase = condition;
    if (name) {
      const state = variables[name[0]];
      if (state) {
        const value = currentValueString(state);
        if (value === '' || value === '$__all') phrase = '1=1';
      }
    }
    query = query.replace(`${CONDITIONAL_ALL}${condition},${variable})`, () => phrase);
    index = query.lastIndexOf(CONDITIONAL_ALL);
  }
  return query;
}

// Grafana's variable syntax: $name, [[name:format]], ${name.fieldPath:format}.
const VARIABLE_REFERENCE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

function formatValue(value: string | string[], format: string | undefined): string {
  switch (format) {
    case undefined:
      // The ClickHouse datasource's formatter: lists quoted, single values as they are.
      return Array.isArray(value) ? `'${value.join("','")}'` : value;
    case 'singlequote': {
      const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
      return Array.isArray(value) ? value.map(quote).join(',') : quote(value);
    }
    case 'csv':
      return Array.isArray(value) ? value.join(',') : value;
    case 'raw':
      return Array.isArray(value) ? value.join(',') : value;
    default:
      throw new MacroError(`variable format ${format} is not supported here`);
  }
}

/** templateSrv.replace for the dashboard's variables; anything else (`$__timeFilter`, …) is left for the backend. */
export function replaceVariables(query: string, variables: Record<string, VariableState>): string {
  return query.replace(
    VARIABLE_REFERENCE,
    (
      match,
      bare?: string,
      bracketName?: string,
      bracketFormat?: string,
      braceName?: string,
      _fieldPath?: string,
      braceFormat?: string,
    ) => {
      const name = bare ?? bracketName ?? braceName!;
      const state = variables[name];
      if (!state) return match;
      const format = bracketFormat ?? braceFormat;
      if (state.current === 'all') return formatValue(state.options, format);
      const value = state.multi ? state.current : (state.current[0] ?? '');
      return formatValue(value, format);
    },
  );
}

// ---------------------------------------------------------------- plugin backend side

type Macro = (context: GrafanaQueryContext, args: string[]) => string;

const dateTime = (ms: number) => `toDateTime(${Math.floor(ms / 1000)})`;
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${Math.trunc(ms)})`;
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function expectArgs(name: string, args: string[], count: number): void {
  if (args.length !== count)
    throw new MacroError(
      `$__${name}: unexpected number of arguments: expected ${count} argument${count === 1 ? '' : 's'}, received ${args.length}`,
    );
}

function oneColumn(name: string, render: (column: string, context: GrafanaQueryContext) => string): Macro {
  return (context, args) => {
    expectArgs(name, args, 1);
    return render(args[0]!, context);
  };
}

const intervalSeconds = (context: GrafanaQueryContext) => Math.trunc(Math.max(context.intervalMs / 1000, 1));

/** pkg/macros.Macros, plus sqlutil's defaults the plugin does not override (timeFrom, timeTo). */
const MACROS: Record<string, Macro> = {
  fromTime: (c) => dateTime(c.fromMs),
  toTime: (c) => dateTime(c.toMs),
  fromTime_ms: (c) => dateTime64(c.fromMs),
  toTime_ms: (c) => dateTime64(c.toMs),
  timeFilter: oneColumn('timeFilter', (col, c) => `${col} >= ${dateTime(c.fromMs)} AND ${col} <= ${dateTime(c.toMs)}`),
  timeFilter_ms: oneColumn(
    'timeFilter_ms',
    (col, c) => `${col} >= ${dateTime64(c.fromMs)} AND ${col} <= ${dateTime64(c.toMs)}`,
  ),
  dateFilter: oneColumn('dateFilter', (col, c) => `${col} >= ${date(c.fromMs)} AND ${col} <= ${date(c.toMs)}`),
  dateTimeFilter: dateTimeFilter('dateTimeFilter'),
  dt: dateTimeFilter('dt'),
  timeInterval: oneColumn(
    'timeInterval',
    (col, c) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${intervalSeconds(c)} second)`,
  ),
  timeInterval_ms: oneColumn(
    'timeInterval_ms',
    (col, c) =>
      `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.trunc(Math.max(c.intervalMs, 1))} millisecond)`,
  ),
  interval_s: (c) => String(intervalSeconds(c)),
  timeFrom: oneColumn('timeFrom', (col, c) => `${col} >= '${rfc3339(c.fromMs)}'`),
  timeTo: oneColumn('timeTo', (col, c) => `${col} <= '${rfc3339(c.toMs)}'`),
};

function dateTimeFilter(name: string): Macro {
  return (c, args) => {
    expectArgs(name, args, 2);
    const [dateColumn, timeColumn] = args as [string, string];
    return `(${dateColumn} >= ${date(c.fromMs)} AND ${dateColumn} <= ${date(c.toMs)}) AND (${timeColumn} >= ${dateTime(c.fromMs)} AND ${timeColumn} <= ${dateTime(c.toMs)})`;
  };
}

export const MACRO_NAMES = Object.keys(MACROS);

export interface MacroCall {
  name: string;
  /** The text the plugin replaces: the name and, if it found one, everything to the matching `)`. */
  text: string;
  /** The raw text between the parentheses, or null without any. */
  args: string | null;
}

/** sqlutil.getMacroMatches: each occurrence of `$__name` with the text the plugin takes as its call. */
function matchesOf(sql: string, name: string): MacroCall[] {
  const calls: MacroCall[] = [];
  const pattern = new RegExp(`\\$__${name}\\b`, 'g');
  for (const found of sql.matchAll(pattern)) {
    const start = found.index;
    const rest = sql.slice(start);
    let open = 0;
    let argStart = 0;
    let end = 0;
    for (let i = 0; i < rest.length; i++) {
      if (open === 0 && end > 0) break;
      const ch = rest[i];
      if (ch === '(') {
        open++;
        if (argStart === 0) argStart = i + 1;
      } else if (ch === ')') {
        if (open === 0) break;
        open--;
        end = i + 1;
      }
    }
    if (end === 0) end = found[0].length;
    if (argStart > 0 && argStart > end - 1) throw new MacroError(`$__${name}: unbalanced parentheses after the macro`);
    calls.push({ name, text: rest.slice(0, end), args: argStart > 0 ? rest.slice(argStart, end - 1) : null });
  }
  return calls;
}

/** Every macro call in the SQL as the plugin's backend would see it. */
export function macroCalls(sql: string): MacroCall[] {
  return MACRO_NAMES.flatMap((name) => matchesOf(sql, name));
}

/** Argument-less macros whose call swallowed text up to a later parenthesis (see the module comment). */
export function swallowingCalls(sql: string): MacroCall[] {
  const argumentLess = new Set(['fromTime', 'toTime', 'fromTime_ms', 'toTime_ms', 'interval_s']);
  return macroCalls(sql).filter((call) => argumentLess.has(call.name) && call.args !== null);
}

/**
 * sqlutil.Interpolate with the plugin's macros. Go visits the macro map in random order; the
 * order matters only for macros nested in another's arguments, which the boards never do.
 */
export function expandMacros(sql: string, context: GrafanaQueryContext): string {
  for (const name of MACRO_NAMES) {
    for (const call of matchesOf(sql, name)) {
      // As in Go, a call without parentheses still has one (empty) argument.
      const args = (call.args ?? '').split(',').map((a) => a.trim());
      sql = sql.replaceAll(call.text, MACROS[name]!(context, args));
    }
  }
  return sql;
}

/** The SQL ClickHouse receives for a panel query: browser-side substitution, then the backend's macros. */
export function expandGrafanaQuery(rawSql: string, context: GrafanaQueryContext): string {
  return expandMacros(replaceVariables(applyConditionalAll(rawSql, context.variables), context.variables), context);
}
