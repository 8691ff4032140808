import type { SeededRandom } from './seeded-random.js';

/**
 * Valid-but-different answers, as real deployments send them, so tests can prove the clients read
 * them (DESIGN §4). Each kind is a fault an emulator applies to its successful JSON answers:
 * - dropOptional: optional scalar fields left out (each with probability ½);
 * - nullOptionals: optional scalar fields sent as null (each with probability ½);
 * - addUnknown: fields the contract does not name added to every object;
 * - numbersAsStrings: every number sent as a string;
 * - altSpellings: the API's own documented or observed alternatives (`deviceList`, `{time}` dates, `msg`…),
 *   supplied per route by the emulator;
 * - htmlError: an HTML error page with status 200 instead of the JSON answer.
 * Which fields are optional comes from the route's response schema (the same zod schema the client reads
 * with, as JSON Schema), so the variants follow the contract as it is written.
 */
export const SHAPE_VARIANTS = [
  'dropOptional',
  'nullOptionals',
  'addUnknown',
  'numbersAsStrings',
  'altSpellings',
  'htmlError',
] as const;
export type ShapeVariant = (typeof SHAPE_VARIANTS)[number];

/** The part of JSON Schema the walk needs. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** An emulator's alternative spellings of one route's answer (a fresh copy may be changed in place). */
export type AlternativeSpelling = (body: unknown, random: SeededRandom) => unknown;

export const HTML_ERROR_PAGE =
  '<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>' +
  '<body><h1>Service Temporarily Unavailable</h1><p>The server is temporarily unable to service your request.</p></body></html>';

export type VariedAnswer = { kind: 'json'; body: unknown } | { kind: 'html'; text: string };

export function varyShape(
  body: unknown,
  kinds: readonly ShapeVariant[],
  schema: JsonSchema | undefined,
  alternative: AlternativeSpelling | undefined,
  random: SeededRandom,
): VariedAnswer {
  if (kinds.includes('htmlError')) return { kind: 'html', text: HTML_ERROR_PAGE };
  let value: unknown = structuredClone(body);
  if (kinds.includes('altSpellings') && alternative) value = alternative(value, random);
  const has = new Set(kinds);
  return { kind: 'json', body: walk(value, schema, has, random) };
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** The branch of a union that fits the value's JSON type. */
function resolve(schema: JsonSchema | undefined, value: unknown): JsonSchema | undefined {
  if (!schema) return undefined;
  if (schema.allOf?.length === 1) return resolve(schema.allOf[0], value);
  const branches = schema.anyOf ?? schema.oneOf;
  // An object with an anyOf beside its properties only constrains which fields must be present.
  if (!branches || schema.properties) return schema;
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const fits = branches.find((b) => {
    const t = resolve(b, value)?.type;
    return t === type || (Array.isArray(t) && t.includes(type)) || (type === 'object' && !!b.properties);
  });
  return resolve(fits ?? branches[0], value);
}

function walk(
  value: unknown,
  schema: JsonSchema | undefined,
  kinds: Set<ShapeVariant>,
  random: SeededRandom,
): unknown {
  const resolved = resolve(schema, value);
  if (Array.isArray(value)) return value.map((item) => walk(item, resolved?.items, kinds, random));
  if (typeof value === 'number') return kinds.has('numbersAsStrings') ? String(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  // Fields an anyOf requires one of (KDMS: an imei or a serialNumber) are kept: a valid variant keeps them.
  const alternatives = (resolved?.anyOf ?? resolved?.oneOf ?? []).flatMap((b) => b.required ?? []);
  const required = new Set([...(resolved?.required ?? []), ...alternatives]);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) {
    // Only fields the contract knows and does not require may be left out or nulled.
    const optional = resolved?.properties?.[key] !== undefined && !required.has(key) && isScalar(field);
    if (optional && kinds.has('dropOptional') && random.chance(0.5)) continue;
    if (optional && kinds.has('nullOptionals') && random.chance(0.5)) {
      out[key] = null;
      continue;
    }
    out[key] = walk(field, resolved?.properties?.[key], kinds, random);
  }
  if (kinds.has('addUnknown')) {
    out.x_vendorExtension = 'added by a newer release';
    out.unknownCount = Math.floor(random.next() * 100);
    out.unknownFlags = { nested: true, list: [1, 'two'] };
  }
  return out;
}
