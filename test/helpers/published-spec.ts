import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * The published Knox Manage Open API (../shared/reference/, extracted from the public API reference) as
 * an ajv validator of answers. It checks our emulator against the vendor's document, not against our own
 * schemas, so the emulator cannot drift from the real API unnoticed.
 *
 * Three adjustments, each to the document's known quirks rather than its meaning:
 * - OpenAPI 3.0 keywords JSON Schema does not know (`example`, `nullable`, `readOnly`…) are ignored;
 * - patterns written as `/…/` with a negated class (`/[^A-Z|a-z…]/`) describe what is NOT allowed, the
 *   opposite of what `pattern` means; they are dropped;
 * - every object is closed (`additionalProperties: false`): an answer may carry only fields the document
 *   defines, which is stricter than the document itself asks.
 */
export const PUBLISHED_SPEC_PATH = fileURLToPath(
  new URL('../../../shared/reference/knox-manage-devices-users.json', import.meta.url),
);

type Json = Record<string, unknown>;

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>
  >;
  components: { schemas: Record<string, Json> };
}

function tighten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tighten);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && typeof value === 'string' && value.startsWith('/')) continue;
    out[key] = tighten(value);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

export interface PublishedSpec {
  /** API paths relative to `/emm/oapi`, with their methods, e.g. `post /device/selectDeviceList`. */
  operations: string[];
  /** Problems with `body` as the 200 answer of `method path`, or [] when it conforms. */
  check(method: string, path: string, body: unknown): string[];
}

export function loadPublishedSpec(): PublishedSpec {
  const document = JSON.parse(readFileSync(PUBLISHED_SPEC_PATH, 'utf8')) as OpenApiDocument;
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats ships CommonJS with a default export; under ESM interop it may arrive wrapped once more.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
    addFormatsModule) as unknown as (instance: Ajv) => void;
  addFormats(ajv);
  ajv.addFormat('int32', true);
  ajv.addFormat('int64', true);
  ajv.addSchema({ components: tighten(document.components) }, 'spec');
  const validators = new Map<string, ValidateFunction>();
  const operations: string[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const schema = operation.responses['200']?.content?.['application/json']?.schema;
      if (!schema) continue;
      const ref = String(schema.$ref).replace('#/components', 'spec#/components');
      validators.set(`${method} ${path}`, ajv.compile({ $ref: ref }));
      operations.push(`${method} ${path}`);
    }
  }
  return {
    operations,
    check(method, path, body) {
      const validate = validators.get(`${method.toLowerCase()} ${path}`);
      if (!validate) return [`the published document has no ${method} ${path}`];
      if (validate(body)) return [];
      return (validate.errors ?? []).map(
        (e) =>
          `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
      );
    },
  };
}
