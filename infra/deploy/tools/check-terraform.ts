import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ObjectSchema, ProviderSchema } from './aws-provider-schema.ts';

/**
 * A stand-in for `terraform validate`, which cannot run here (no Terraform registry, so no
 * provider). It parses every .tf file with HashiCorp's own HCL parser (the @cdktf/hcl2json
 * WASM build) and checks the configuration against the hashicorp/aws provider schema:
 *
 * - every resource, data source and provider block names a type the provider has;
 * - every argument and nested block exists at that place in the schema, and every required one
 *   is set;
 * - every reference (var., local., data., aws_*.) points at something declared, and an
 *   attribute read from a resource or data source is one it exports.
 *
 * It does not evaluate expressions: types of values, functions and for-expressions go unchecked.
 */

type Body = Record<string, unknown>;

const META_ARGUMENTS = new Set([
  'count',
  'for_each',
  'depends_on',
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
]);

export interface TerraformConfig {
  files: string[];
  terraform: Body[];
  providers: Record<string, Body[]>;
  resources: Record<string, Record<string, Body[]>>;
  data: Record<string, Record<string, Body[]>>;
  variables: Record<string, Body[]>;
  locals: Body[];
  outputs: Record<string, Body[]>;
  /** Every expression string, for reference checks. */
  expressions: string[];
}

type Hcl2Json = (filename: string, contents: string) => Promise<Record<string, unknown>>;

export function loadHcl2Json(npmPrefix: string): Promise<Hcl2Json> {
  const require = createRequire(join(npmPrefix, 'package.json'));
  const module = require('@cdktf/hcl2json') as { parse: Hcl2Json };
  return Promise.resolve(module.parse);
}

function asBodies(value: unknown): Body[] {
  if (Array.isArray(value)) return value.filter((v): v is Body => typeof v === 'object' && v !== null);
  return typeof value === 'object' && value !== null ? [value as Body] : [];
}

function collectExpressions(value: unknown, into: string[]): void {
  if (typeof value === 'string') {
    if (value.includes('${')) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectExpressions(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) collectExpressions(item, into);
  }
}

function mergeLabelled(target: Record<string, Record<string, Body[]>>, value: unknown): void {
  for (const [type, byName] of Object.entries((value ?? {}) as Record<string, Record<string, unknown>>)) {
    target[type] ??= {};
    for (const [name, bodies] of Object.entries(byName)) {
      target[type][name] = [...(target[type][name] ?? []), ...asBodies(bodies)];
    }
  }
}

export async function parseTerraformDirectory(dir: string, parse: Hcl2Json): Promise<TerraformConfig> {
  const config: TerraformConfig = {
    files: [],
    terraform: [],
    providers: {},
    resources: {},
    data: {},
    variables: {},
    locals: [],
    outputs: {},
    expressions: [],
  };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    const parsed = await parse(file, readFileSync(join(dir, file), 'utf8'));
    config.files.push(file);
    config.terraform.push(...asBodies(parsed.terraform));
    for (const [name, bodies] of Object.entries((parsed.provider ?? {}) as Record<string, unknown>)) {
      config.providers[name] = [...(config.providers[name] ?? []), ...asBodies(bodies)];
    }
    mergeLabelled(config.resources, parsed.resource);
    mergeLabelled(config.data, parsed.data);
    for (const [name, bodies] of Object.entries((parsed.variable ?? {}) as Record<string, unknown>))
      config.variables[name] = asBodies(bodies);
    config.locals.push(...asBodies(parsed.locals));
    for (const [name, bodies] of Object.entries((parsed.output ?? {}) as Record<string, unknown>))
      config.outputs[name] = asBodies(bodies);
    collectExpressions(parsed, config.expressions);
  }
  return config;
}

/** Checks one block body against its schema; `where` names it in messages. */
function checkBody(
  body: Body,
  schema: ObjectSchema,
  provider: ProviderSchema,
  where: string,
  problems: string[],
  topLevel: boolean,
): void {
  for (const [key, value] of Object.entries(body)) {
    if (topLevel && META_ARGUMENTS.has(key)) continue;
    if (key === 'dynamic') {
      for (const [label, dynamicBodies] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        const argument = schema.args[label];
        if (!argument?.block) problems.push(`${where}: dynamic "${label}" is not a block of this schema`);
        else
          for (const dynamic of asBodies(dynamicBodies))
            for (const content of asBodies(dynamic.content))
              checkBody(content, provider.structs[argument.block]!, provider, `${where}.${label}`, problems, false);
      }
      continue;
    }
    const argument = schema.args[key];
    if (!argument) {
      problems.push(`${where}: unsupported argument or block "${key}"`);
      continue;
    }
    if (argument.block) {
      // A nested block (or a nested object attribute): hcl2json gives a list of bodies; an
      // expression string is an attribute assignment we cannot look into.
      if (typeof value === 'string') continue;
      for (const nested of asBodies(value))
        checkBody(nested, provider.structs[argument.block]!, provider, `${where}.${key}`, problems, false);
    }
  }
  for (const [key, argument] of Object.entries(schema.args)) {
    if (argument.required && !(key in body)) {
      const dynamic = (body.dynamic ?? {}) as Record<string, unknown>;
      if (!(key in dynamic)) problems.push(`${where}: required argument or block "${key}" is missing`);
    }
  }
}

const REFERENCE_PATTERNS = {
  variable: /\bvar\.([A-Za-z0-9_-]+)/g,
  local: /\blocal\.([A-Za-z0-9_-]+)/g,
  data: /\bdata\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.([a-z0-9_]+))?/g,
  resource: /(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.([a-z0-9_]+))?/g,
};

export interface TerraformCheck {
  problems: string[];
  summary: string;
}

export function checkTerraformConfig(config: TerraformConfig, provider: ProviderSchema): TerraformCheck {
  const problems: string[] = [];

  const awsProviders = config.terraform
    .flatMap((t) => asBodies(t.required_providers))
    .map((rp) => rp.aws as Body | undefined);
  const aws = awsProviders.find(Boolean);
  if (!aws) problems.push('terraform.required_providers: no aws entry');
  else {
    if (aws.source !== 'hashicorp/aws')
      problems.push(`terraform.required_providers.aws.source is ${String(aws.source)}, not hashicorp/aws`);
    const major = /(\d+)\./.exec(typeof aws.version === 'string' ? aws.version : '')?.[1];
    if (major !== provider.version.split('.')[0])
      problems.push(
        `terraform.required_providers.aws.version "${String(aws.version)}" does not admit the checked schema ${provider.version}`,
      );
  }
  for (const [name, bodies] of Object.entries(config.providers)) {
    if (name !== 'aws') problems.push(`provider "${name}": only aws is checked`);
    else
      for (const body of bodies) checkBody(body, provider.providerConfig, provider, 'provider "aws"', problems, true);
  }

  let blocks = 0;
  for (const [kind, declared, schemas] of [
    ['resource', config.resources, provider.resources],
    ['data', config.data, provider.dataSources],
  ] as const) {
    for (const [type, byName] of Object.entries(declared)) {
      const schema = schemas[type];
      for (const [name, bodies] of Object.entries(byName)) {
        blocks++;
        if (!schema) {
          problems.push(
            `${kind} "${type}" "${name}": the aws provider ${provider.version} has no ${kind === 'data' ? 'data source' : 'resource'} ${type}`,
          );
          continue;
        }
        for (const body of bodies) checkBody(body, schema, provider, `${kind} "${type}" "${name}"`, problems, true);
      }
    }
  }

  const localNames = new Set(config.locals.flatMap((l) => Object.keys(l)));
  let references = 0;
  for (const expression of config.expressions) {
    for (const [, name] of expression.matchAll(REFERENCE_PATTERNS.variable)) {
      references++;
      if (!config.variables[name!]) problems.push(`reference var.${name} in "${expression}": no such variable`);
    }
    for (const [, name] of expression.matchAll(REFERENCE_PATTERNS.local)) {
      references++;
      if (!localNames.has(name!)) problems.push(`reference local.${name} in "${expression}": no such local value`);
    }
    for (const [, type, name, attribute] of expression.matchAll(REFERENCE_PATTERNS.data)) {
      references++;
      if (!config.data[type!]?.[name!])
        problems.push(`reference data.${type}.${name} in "${expression}": not declared`);
      else if (attribute && !provider.dataSources[type!]?.attrs?.includes(attribute))
        problems.push(`reference data.${type}.${name}.${attribute}: ${type} exports no "${attribute}"`);
    }
    for (const [, type, name, attribute] of expression.matchAll(REFERENCE_PATTERNS.resource)) {
      references++;
      if (!config.resources[type!]?.[name!])
        problems.push(`reference ${type}.${name} in "${expression}": not declared`);
      else if (attribute && !provider.resources[type!]?.attrs?.includes(attribute))
        problems.push(`reference ${type}.${name}.${attribute}: ${type} exports no "${attribute}"`);
    }
  }

  for (const [name, bodies] of Object.entries(config.variables)) {
    if (!bodies.some((b) => typeof b.description === 'string' && b.description.length > 0))
      problems.push(`variable "${name}" has no description`);
    if (!config.expressions.some((e) => e.includes(`var.${name}`))) problems.push(`variable "${name}" is never used`);
  }

  return {
    problems,
    summary: `${config.files.length} files, ${blocks} resources and data sources, ${references} references checked against hashicorp/aws ${provider.version} (${provider.source})`,
  };
}

export async function checkTerraformDirectory(
  dir: string,
  npm: { prefix: string; awsSchema: string },
): Promise<TerraformCheck> {
  const provider = JSON.parse(readFileSync(npm.awsSchema, 'utf8')) as ProviderSchema;
  const config = await parseTerraformDirectory(dir, await loadHcl2Json(npm.prefix));
  return checkTerraformConfig(config, provider);
}
