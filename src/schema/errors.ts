import { GraphQLError } from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { SharedStoreError } from '../cache/errors.js';
import { CursorError } from '../loaders/cursor.js';
import { DeviceFilterError, FleetIndexUnavailableError } from '../loaders/device-listing.js';
import { IndexEngineError } from '../fleet-index/sql-engine.js';
import { UpstreamError, upstreamLabel } from '../upstreams/errors.js';

/**
 * The one mapping from failures to GraphQL errors: every error leaves with `extensions.code`, and
 * upstream failures name the upstream, the endpoint and what it answered.
 */
export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } });
}

export function notFound(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'NOT_FOUND', ...extensions } });
}

function upstreamExtensions(error: UpstreamError): Record<string, unknown> {
  return {
    code: error.code === 'UPSTREAM_AUTH_FAILED' ? 'UPSTREAM_ERROR' : error.code,
    upstream: error.upstream,
    upstreamName: upstreamLabel(error.upstream),
    endpoint: error.endpoint,
    ...(error.status !== undefined ? { upstreamStatus: error.status } : {}),
    ...(error.upstreamCode !== undefined ? { upstreamCode: error.upstreamCode } : {}),
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  };
}

export interface FormatErrorOptions {
  /** Stack traces and internal messages only in development. */
  development: boolean;
}

export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: FormatErrorOptions,
): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const keep = { ...formatted, extensions: { ...formatted.extensions } };
  if (!options.development) delete keep.extensions.stacktrace;
  if (original instanceof UpstreamError) {
    return {
      ...keep,
      message: original.message,
      extensions: { ...keep.extensions, ...upstreamExtensions(original) },
    };
  }
  if (original instanceof SharedStoreError) {
    return {
      ...keep,
      message: original.message,
      extensions: { ...keep.extensions, code: original.code, reason: original.reason, ...original.details },
    };
  }
  if (original instanceof FleetIndexUnavailableError || original instanceof IndexEngineError) {
    return { ...keep, extensions: { ...keep.extensions, code: 'FLEET_INDEX_UNAVAILABLE' } };
  }
  if (original instanceof CursorError || original instanceof DeviceFilterError) {
    return { ...keep, extensions: { ...keep.extensions, code: 'BAD_USER_INPUT' } };
  }
  // Anything without a code of its own is a bug or an unexpected failure: Apollo labels it
  // INTERNAL_SERVER_ERROR but keeps its message, which may name code or quote data. Only development
  // shows it.
  if (typeof keep.extensions.code !== 'string' || keep.extensions.code === 'INTERNAL_SERVER_ERROR') {
    return {
      ...keep,
      message: options.development ? keep.message : 'Internal server error',
      extensions: { ...keep.extensions, code: 'INTERNAL_SERVER_ERROR' },
    };
  }
  return keep;
}

/** Whether a formatted error is one Fleetgraph did not expect (worth an error log line). */
export function isInternalError(formatted: GraphQLFormattedError): boolean {
  return formatted.extensions?.code === 'INTERNAL_SERVER_ERROR';
}
