/**
 * Every upstream failure is one of these, carrying which API failed and how. The GraphQL layer maps
 * `code` to `extensions.code` in one place (src/schema/errors.ts); nothing else inspects HTTP statuses.
 */
export type UpstreamName = 'KDMS' | 'KNOX_MANAGE' | 'BOX';

export type UpstreamErrorCode =
  /** Network failure, timeout or 5xx: the upstream could not answer. */
  | 'UPSTREAM_UNAVAILABLE'
  /** The upstream answered, but with an error we cannot turn into data (4xx, error envelope, bad JSON). */
  | 'UPSTREAM_ERROR'
  /** HTTP 429. */
  | 'RATE_LIMITED'
  /** Our credentials were refused (401/403 after a fresh token). */
  | 'UPSTREAM_AUTH_FAILED';

export interface UpstreamErrorDetails {
  upstream: UpstreamName;
  /** `POST /kdms/v1/devices/getDevices`, for logs and error extensions. */
  endpoint: string;
  status?: number;
  /** The upstream's own error code (`INVALID_PARAM`, resultCode `-201`, …). */
  upstreamCode?: string;
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class UpstreamError extends Error {
  readonly upstream: UpstreamName;
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly upstreamCode: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    details: UpstreamErrorDetails,
  ) {
    super(message);
    this.name = 'UpstreamError';
    this.upstream = details.upstream;
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.upstreamCode = details.upstreamCode;
    this.retryAfterSeconds = details.retryAfterSeconds;
    // Non-enumerable: a got error holds the request, headers included, and must not reach logs.
    if (details.cause !== undefined)
      Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false });
  }
}

const LABELS: Record<UpstreamName, string> = { KDMS: 'KDMS', KNOX_MANAGE: 'Knox Manage', BOX: 'Box' };

export function upstreamLabel(upstream: UpstreamName): string {
  return LABELS[upstream];
}

/** Maps an HTTP status the upstream answered with to our code. */
export function codeForStatus(status: number): UpstreamErrorCode {
  if (status === 429) return 'RATE_LIMITED';
  if (status === 401 || status === 403) return 'UPSTREAM_AUTH_FAILED';
  if (status >= 500) return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_ERROR';
}

/** The upstream's circuit breaker is open: nothing was sent, and retrying now would not help. */
export class CircuitOpenError extends UpstreamError {
  constructor(upstream: UpstreamName, endpoint: string) {
    super(
      'UPSTREAM_UNAVAILABLE',
      `${upstreamLabel(upstream)} is failing; its circuit breaker is open, so ${endpoint} was not called`,
      {
        upstream,
        endpoint,
      },
    );
    this.name = 'CircuitOpenError';
  }
}

/** One problem zod found, as much of it as the message needs. */
export interface ContractIssue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

/** `devices[3].imei` */
export function formatJsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(the body)';
}

/**
 * The upstream answered, but not in a shape Fleetgraph can read: "KDMS getDevices: devices[3].imei:
 * expected string, received object". The first problem is in the message; the count says how many more.
 */
export class UpstreamContractError extends UpstreamError {
  readonly jsonPath: string;

  constructor(
    context: { upstream: UpstreamName; endpoint: string; status?: number },
    issues: readonly ContractIssue[],
  ) {
    const first = issues[0];
    const operation = context.endpoint.split('/').pop() ?? context.endpoint;
    const jsonPath = first ? formatJsonPath(first.path) : '(the body)';
    const problem = (first?.message ?? 'unreadable').replace(/^Invalid input: /, '');
    const more =
      issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super(
      'UPSTREAM_ERROR',
      `${upstreamLabel(context.upstream)} ${operation}: ${jsonPath}: ${problem}${more}`,
      {
        upstream: context.upstream,
        endpoint: context.endpoint,
        ...(context.status !== undefined ? { status: context.status } : {}),
      },
    );
    this.name = 'UpstreamContractError';
    this.jsonPath = jsonPath;
  }
}
