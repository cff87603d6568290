import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Extracts the hashicorp/aws provider's resource and data-source schemas (argument names,
 * which are required, nested blocks, exported attributes) from the jsii assembly of the
 * `@cdktf/provider-aws` npm package, which is generated from `terraform providers schema -json`.
 * Terraform's registry is not reachable here, so this is how `check-terraform.ts` gets the real
 * schema to check our .tf files against. Run by install-validators.sh:
 *
 *   node --import tsx infra/deploy/tools/aws-provider-schema.ts <package/.jsii> <out.json>
 */

export interface ArgumentSchema {
  required: boolean;
  /** Set for nested blocks (or nested object attributes): the struct describing their content. */
  block?: string;
}

export interface ObjectSchema {
  args: Record<string, ArgumentSchema>;
  /** Attributes a reference may read (arguments and computed ones), in Terraform's snake_case. */
  attrs?: string[];
}

export interface ProviderSchema {
  provider: string;
  version: string;
  source: string;
  providerConfig: ObjectSchema;
  resources: Record<string, ObjectSchema>;
  dataSources: Record<string, ObjectSchema>;
  structs: Record<string, ObjectSchema>;
}

interface JsiiTypeRef {
  fqn?: string;
  primitive?: string;
  collection?: { kind: string; elementtype: JsiiTypeRef };
  union?: { types: JsiiTypeRef[] };
}

interface JsiiProperty {
  name: string;
  optional?: boolean;
  static?: boolean;
  const?: boolean;
  type: JsiiTypeRef;
  docs?: { summary?: string; remarks?: string };
}

interface JsiiType {
  fqn: string;
  kind: string;
  datatype?: boolean;
  namespace?: string;
  name: string;
  base?: string;
  properties?: JsiiProperty[];
}

const LINK =
  /registry\.terraform\.io\/providers\/([^/]+\/[^/]+)\/([^/]+)\/docs\/(resources|data-sources)\/([a-z0-9_]+)#([a-z0-9_]+)/;

/** Terraform names are snake_case; jsii names are their camelCase (digits stay attached). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The parts of a jsii assembly (`.jsii`) read here. */
export interface JsiiAssembly {
  name: string;
  version: string;
  types: Record<string, JsiiType>;
}

export function extractProviderSchema(assembly: JsiiAssembly): ProviderSchema {
  const types = assembly.types;
  const structs: Record<string, ObjectSchema> = {};
  const resources: Record<string, ObjectSchema> = {};
  const dataSources: Record<string, ObjectSchema> = {};
  let provider = '';
  let version = '';

  const structFqn = (ref: JsiiTypeRef): string | undefined => {
    if (ref.fqn) return types[ref.fqn]?.datatype ? ref.fqn : undefined;
    if (ref.collection) return structFqn(ref.collection.elementtype);
    for (const member of ref.union?.types ?? []) {
      const found = structFqn(member);
      if (found) return found;
    }
    return undefined;
  };

  const describe = (type: JsiiType): ObjectSchema => {
    const args: Record<string, ArgumentSchema> = {};
    for (const property of type.properties ?? []) {
      const link = LINK.exec(`${property.docs?.summary ?? ''} ${property.docs?.remarks ?? ''}`);
      const name = link?.[5] ?? snakeCase(property.name);
      const nested = structFqn(property.type);
      args[name] = nested ? { required: !property.optional, block: nested } : { required: !property.optional };
      if (nested && !structs[nested]) {
        structs[nested] = { args: {} };
        structs[nested] = describe(types[nested]!);
      }
    }
    return { args };
  };

  // Each resource or data source is a class with a static tfResourceType and a <Class>Config struct.
  for (const resourceClass of Object.values(types)) {
    if (
      resourceClass.kind !== 'class' ||
      !resourceClass.properties?.some((p) => p.static && p.name === 'tfResourceType')
    )
      continue;
    const config = types[`${resourceClass.fqn}Config`];
    if (!config) continue;
    const links = (config.properties ?? [])
      .map((p) => LINK.exec(`${p.docs?.summary ?? ''} ${p.docs?.remarks ?? ''}`))
      .filter((l) => l !== null);
    const first = links[0];
    if (!first) continue;
    provider ||= first[1]!;
    version ||= first[2]!;
    const schema = describe(config);
    // Exported attributes: the class's read-only getters (computed ones included).
    const attrs = new Set(Object.keys(schema.args));
    for (const property of resourceClass.properties ?? []) {
      if (property.static || property.name.endsWith('Input')) continue;
      attrs.add(snakeCase(property.name));
    }
    schema.attrs = [...attrs].sort();
    const tfName = `aws_${first[4]}`;
    if (first[3] === 'resources') resources[tfName] = schema;
    else dataSources[tfName] = schema;
  }

  const providerType = Object.values(types).find(
    (t) => t.kind === 'interface' && t.datatype && t.name === 'AwsProviderConfig',
  );
  const providerConfig = providerType ? describe(providerType) : { args: {} };
  return {
    provider,
    version,
    source: `${assembly.name} ${assembly.version}`,
    providerConfig,
    resources,
    dataSources,
    structs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: aws-provider-schema.ts <@cdktf/provider-aws/.jsii> <out.json>\n');
    process.exit(2);
  }
  // The .jsii of the pinned @cdktf/provider-aws, written by jsii itself.
  const schema = extractProviderSchema(JSON.parse(readFileSync(input, 'utf8')) as JsiiAssembly);
  writeFileSync(output, JSON.stringify(schema));
  process.stdout.write(
    `${schema.provider} ${schema.version} (from ${schema.source}): ${Object.keys(schema.resources).length} resources, ${Object.keys(schema.dataSources).length} data sources\n`,
  );
}
