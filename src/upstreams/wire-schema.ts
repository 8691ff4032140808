import { z } from 'zod';
import { UpstreamContractError } from './errors.js';
import type { UpstreamName } from './errors.js';

/**
 * The building blocks every `<api>.wire.ts` writes its contract with (zod 4). Each block is a tolerant
 * reader with a receipt: it accepts the spellings the published documents and real deployments use,
 * coerces what is obviously the same value, and documents the canonical wire type for the OpenAPI
 * documents (`x-wire`, applied by `toOpenApiComponents`).
 *
 * Two kinds of field:
 * - identity fields (`id()`, `requiredCount()`): a record without them cannot be joined or paged, so a
 *   missing or unreadable value fails the answer with the JSON path;
 * - everything else is optional: absent, null, "" or unreadable becomes `null` (or `[]` for lists), so one
 *   odd value costs that value, never the record.
 */

/** Canonical wire type shown in OpenAPI documents instead of the tolerant union the reader accepts. */
type WireType = { type: 'string' | 'integer' | 'boolean' | 'array' | 'object'; format?: string };
const wire = (type: WireType, description?: string) => ({
  'x-wire': { ...type, ...(description ? { description } : {}) },
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Optional text. Numbers and booleans sent where the contract says string are read as text. */
export function text(description?: string) {
  return scalar
    .nullish()
    .catch(null)
    .transform((v) => (v === null || v === undefined || v === '' ? null : String(v)))
    .meta(wire({ type: 'string' }, description));
}

/** Required identity text: a record without it is broken (numbers are accepted and read as text). */
const describeInput = (input: unknown): string =>
  input === undefined ? 'nothing' : input === null ? 'null' : input === '' ? 'an empty string' : typeof input;

export function id(description?: string) {
  return z
    .union([z.string().min(1), z.number()], {
      error: (issue) => `expected a non-empty string or a number, received ${describeInput(issue.input)}`,
    })
    .transform((v) => String(v))
    .meta(wire({ type: 'string' }, description));
}

const integer = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^\s*-?\d+\s*$/)
    .transform((v) => Number(v)),
]);

/** Optional whole number; numeric strings accepted. `wireType` is how the contract spells it. */
export function count(description?: string, wireType: 'integer' | 'string' = 'integer') {
  return integer
    .nullish()
    .catch(null)
    .transform((v) => v ?? null)
    .meta(wire({ type: wireType }, description));
}

/** Documents a request field as `type` although it travels as text (form and query fields always do). */
export function documentedAs<T extends z.ZodType>(
  schema: T,
  type: WireType['type'],
  description?: string,
): T {
  return schema.meta(wire({ type }, description));
}

/** A whole number the caller depends on (totals it pages by); numeric strings accepted. */
export function requiredCount(wireType: 'string' | 'integer' = 'integer', description?: string) {
  return integer.meta(wire({ type: wireType }, description));
}

const TRUE = new Set(['true', 'y', 'yes', '1']);
const FALSE = new Set(['false', 'n', 'no', '0']);

/** Optional yes/no: booleans, "true"/"false", "Y"/"N", 1/0. */
export function flag(description?: string) {
  return scalar
    .nullish()
    .catch(null)
    .transform((v) => {
      if (typeof v === 'boolean') return v;
      if (v === null || v === undefined) return null;
      const s = String(v).trim().toLowerCase();
      return TRUE.has(s) ? true : FALSE.has(s) ? false : null;
    })
    .meta(wire({ type: 'boolean' }, description));
}

/** Epoch milliseconds, from a number, a numeric string, an ISO 8601 string or a Java `Date` `{time}`. */
function toIso(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'object' && !Array.isArray(value)) return toIso((value as { time?: unknown }).time);
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) ms = Number(value);
  else if (typeof value === 'string') ms = Date.parse(value);
  else return null;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/** Optional point in time, read as ISO 8601 (UTC): ISO strings, epoch ms (number or string) or `{time}`. */
export function timestamp(description?: string) {
  return z
    .union([z.string(), z.number(), z.object({ time: z.union([z.number(), z.string()]) })])
    .nullish()
    .catch(null)
    .transform(toIso)
    .meta(wire({ type: 'string', format: 'date-time' }, description));
}

/** Optional list: an array, or one object where a list was expected; absent or null is empty. */
export function list<T extends z.ZodType>(item: T) {
  return (
    z
      .union([z.array(item), item.transform((one) => [one])])
      // The documents show the canonical array; the lone object is a reader's tolerance.
      .meta({ 'x-wire-first-branch': true })
      .nullish()
      .transform((v): Array<z.output<T>> => v ?? [])
  );
}

/** Optional nested object; a missing or null one is null. */
export function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v): z.output<T> | null => v ?? null);
}

// ---- reading an answer ------------------------------------------------------------------------------

export interface WireContext {
  upstream: UpstreamName;
  /** `POST /kdms/v1/devices/getDevices`. */
  endpoint: string;
  status?: number;
}

/** Validates a parsed body; a broken answer becomes UPSTREAM_ERROR naming the endpoint and JSON path. */
export function readWire<S extends z.ZodType>(schema: S, value: unknown, context: WireContext): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UpstreamContractError(context, parsed.error.issues);
}

// ---- OpenAPI ---------------------------------------------------------------------------------------

/**
 * OpenAPI 3.0 `components.schemas` for every schema registered in `registry` (by its `id`), with the
 * canonical wire types in place of the tolerant unions the readers accept.
 */
export function toOpenApiComponents(registry: z.core.$ZodRegistry<{ id: string }>): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    target: 'openapi-3.0',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      const target = jsonSchema as Record<string, unknown>;
      if (target['x-wire-first-branch'] && Array.isArray(target.anyOf)) {
        const [first] = target.anyOf as unknown[];
        for (const key of Object.keys(target)) delete target[key];
        Object.assign(target, first);
        return;
      }
      const canonical = target['x-wire'];
      if (!canonical) return;
      for (const key of Object.keys(target)) delete target[key];
      Object.assign(target, canonical);
    },
  });
  for (const schema of Object.values(schemas)) delete (schema as { $id?: string }).$id;
  return schemas;
}
