import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';

/**
 * Checks dashboard JSON against Grafana's dashboard schema (schema/dashboard.jsonschema.json,
 * vendored from the foundation SDK's repository). That schema predates a few fields the SDK
 * 0.0.21 (Grafana 12) emits; they are added here, each as the SDK's own types declare it, so
 * everything else stays as strict as the vendored file (no unknown property passes).
 */
type Schema = { definitions: Record<string, { properties: Record<string, unknown> }> };

const SCHEMA_PATH = new URL('./schema/dashboard.jsonschema.json', import.meta.url);

const option = { $ref: '#/definitions/VariableOption' };
const GRAFANA_12_ADDITIONS: Record<string, Record<string, unknown>> = {
  // dashboard.Dashboard.preload
  Dashboard: { preload: { type: 'boolean' } },
  // dashboard.VariableModel: free-text values, static options and interval variables' auto settings
  VariableModel: {
    allowCustomValue: { type: 'boolean' },
    staticOptions: { type: 'array', items: option },
    staticOptionsOrder: { enum: ['before', 'after', 'sorted'] },
    definition: { type: 'string' },
    auto: { type: 'boolean' },
    auto_min: { type: 'string' },
    auto_count: { type: 'integer', exclusiveMinimum: 0 },
  },
  // dashboard.AnnotationQuery: `target` is a datasource query (cog.Dataquery), as Grafana's CUE
  // comment on AnnotationTarget says ("datasource will stick their raw DataQuery here").
  AnnotationQuery: {
    target: { type: 'object', additionalProperties: {} },
    placement: { enum: ['inControlsMenu'] },
    expr: { type: 'string' },
    textFormat: { type: 'string' },
    titleFormat: { type: 'string' },
    tagKeys: { type: 'string' },
    step: { type: 'string' },
    useValueForTime: { type: 'boolean' },
    mappings: { type: 'object', additionalProperties: { type: 'object', additionalProperties: {} } },
  },
  // dashboard.Panel
  Panel: { timeCompare: { type: 'string' }, cacheTimeout: { type: 'string' }, queryCachingTTL: { type: 'number' } },
};

export function grafanaDashboardSchema(): Schema {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
  for (const [definition, properties] of Object.entries(GRAFANA_12_ADDITIONS))
    Object.assign(schema.definitions[definition]!.properties, properties);
  return schema;
}

export type DashboardValidator = (dashboard: unknown) => string[];

export function createDashboardValidator(): DashboardValidator {
  // Formats (date-time) appear only under snapshot metadata, which boards never carry.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, validateFormats: false });
  const validate = ajv.compile(grafanaDashboardSchema());
  return (dashboard) =>
    validate(dashboard)
      ? []
      : (validate.errors ?? []).map(
          (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
        );
}
