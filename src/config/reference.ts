/**
 * The configuration reference, generated from the schema: a Markdown table of every key (type,
 * default, environment variable, meaning) for docs/MONITORING_GUIDE.md, and the JSON Schema of
 * `dspex.config.json` for editors. Pure; a test checks that the guide holds exactly this table.
 *
 * @module
 */
import { z } from 'zod';
import { ENV_VARIABLES } from './env.js';
import { CONFIG_SECTIONS, dspexConfigSchema } from './schema.js';

/** A JSON Schema node, as far as the reference reads it. */
interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  exclusiveMinimum?: number;
  properties?: Record<string, JsonSchemaNode>;
}

/** The JSON Schema (draft 2020-12) of `dspex.config.json`. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(dspexConfigSchema, { io: 'input', unrepresentable: 'any' });
}

const POOL_NOTE = 'pool option (README, "Pool options")';

function typeText(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.anyOf) return node.anyOf.map(typeText).join(' \\| ');
  // A discriminated union (alert rules, channels): its kinds are documented in their own section.
  if (node.oneOf) return 'object';
  const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
  return types
    .map((t) => {
      if (t === 'array') return `${node.items ? typeText(node.items) : 'any'}[]`;
      if (t === 'integer' || t === 'number') {
        const lo = node.minimum ?? (node.exclusiveMinimum !== undefined ? `>${node.exclusiveMinimum}` : undefined);
        const hi = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
        return lo !== undefined || hi !== undefined ? `${t} ${lo ?? ''}..${hi ?? ''}` : t;
      }
      return t;
    })
    .join(' \\| ');
}

function defaultText(node: JsonSchemaNode): string {
  if (!('default' in node)) return '';
  return `\`${JSON.stringify(node.default)}\``;
}

/** One row of the reference. */
export interface ConfigKeyDoc {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly env: string;
  readonly description: string;
}

/** Every key of the configuration, in documentation order. */
export function configKeys(): ConfigKeyDoc[] {
  const schema = configJsonSchema() as JsonSchemaNode;
  const envOf = new Map(ENV_VARIABLES.map((v) => [v.key, v.name]));
  const rows: ConfigKeyDoc[] = [];
  for (const section of CONFIG_SECTIONS) {
    const node = schema.properties?.[section];
    for (const [name, prop] of Object.entries(node?.properties ?? {})) {
      const key = `${section}.${name}`;
      rows.push({
        key,
        type: typeText(prop),
        default: defaultText(prop),
        env: envOf.has(key) ? `\`${envOf.get(key)}\`` : '',
        description: (prop.description ?? (section === 'pool' ? POOL_NOTE : '')).replaceAll('|', '\\|'),
      });
    }
  }
  return rows;
}

/** The Markdown table docs/MONITORING_GUIDE.md holds between its `config-reference` markers. */
export function configReferenceMarkdown(): string {
  const lines = ['| key | type | default | environment | meaning |', '|---|---|---|---|---|'];
  for (const r of configKeys()) lines.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${r.env} | ${r.description} |`);
  return lines.join('\n') + '\n';
}
