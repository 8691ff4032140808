import { SHAPE_VARIANTS } from './shape-variants.js';
import type { ShapeVariant } from './shape-variants.js';

/**
 * Fault injection settings for one emulator. Set at start (`startEmulators({ kdms: { faults } })`) or at
 * run time over HTTP (`PUT /_emulator/faults` merges, `DELETE /_emulator/faults` clears). Deterministic
 * "next N requests" counters sit beside probabilistic rates so tests never depend on chance.
 */
export interface FaultSettings {
  /** Fixed delay before each answer, in ms. */
  latencyMs: number;
  /** Plus a uniform random 0..jitterMs. */
  jitterMs: number;
  /** Chance (0..1) that a request answers `errorStatus`. */
  errorRate: number;
  /** The next N requests answer `errorStatus`. */
  failNext: number;
  errorStatus: 500 | 503;
  /** The next N requests answer 429 with `Retry-After: retryAfterSeconds` (a burst). */
  rateLimitNext: number;
  retryAfterSeconds: number;
  /** The body is sent in ten pieces spread over this many ms, after the headers. */
  slowBodyMs: number;
  /** Chance (0..1) that a JSON body is cut in half. */
  malformedJsonRate: number;
  /** The next N JSON bodies are cut in half. */
  malformedJsonNext: number;
  /** Valid-but-different shapes for successful JSON answers (see shape-variants.ts). */
  shapeVariants: ShapeVariant[];
  /** Only requests whose path starts with one of these are affected; empty means every API path. */
  paths: string[];
}

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  failNext: 0,
  errorStatus: 500,
  rateLimitNext: 0,
  retryAfterSeconds: 1,
  slowBodyMs: 0,
  malformedJsonRate: 0,
  malformedJsonNext: 0,
  shapeVariants: [],
  paths: [],
});

const NUMERIC_FIELDS = [
  'latencyMs',
  'jitterMs',
  'errorRate',
  'failNext',
  'rateLimitNext',
  'retryAfterSeconds',
  'slowBodyMs',
  'malformedJsonRate',
  'malformedJsonNext',
] as const;
const RATE_FIELDS = new Set<string>(['errorRate', 'malformedJsonRate']);

/**
 * Merges an untrusted patch (from options or an HTTP body) into `current`. Returns the problems found
 * instead of throwing, so the control endpoint can answer 400 with every one of them.
 */
export function mergeFaults(
  current: FaultSettings,
  patch: unknown,
): { faults: FaultSettings; problems: string[] } {
  const problems: string[] = [];
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    return { faults: current, problems: ['faults must be a JSON object'] };
  }
  const next: FaultSettings = {
    ...current,
    paths: [...current.paths],
    shapeVariants: [...current.shapeVariants],
  };
  for (const [key, value] of Object.entries(patch)) {
    if ((NUMERIC_FIELDS as readonly string[]).includes(key)) {
      const field = key as (typeof NUMERIC_FIELDS)[number];
      const max = RATE_FIELDS.has(key) ? 1 : Number.MAX_SAFE_INTEGER;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
        problems.push(
          `${key} must be a number from 0 to ${RATE_FIELDS.has(key) ? 1 : 'any'}, got ${JSON.stringify(value)}`,
        );
      } else {
        next[field] = value;
      }
    } else if (key === 'errorStatus') {
      if (value !== 500 && value !== 503)
        problems.push(`errorStatus must be 500 or 503, got ${JSON.stringify(value)}`);
      else next.errorStatus = value;
    } else if (key === 'shapeVariants') {
      const known = SHAPE_VARIANTS as readonly unknown[];
      if (!Array.isArray(value) || !value.every((v) => known.includes(v))) {
        problems.push(`shapeVariants must be an array of ${SHAPE_VARIANTS.join(', ')}`);
      } else {
        next.shapeVariants = [...new Set(value as ShapeVariant[])];
      }
    } else if (key === 'paths') {
      if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && p.startsWith('/'))) {
        problems.push('paths must be an array of path prefixes starting with "/"');
      } else {
        next.paths = [...value];
      }
    } else {
      problems.push(`unknown fault setting "${key}"`);
    }
  }
  return { faults: problems.length ? current : next, problems };
}
