/**
 * The shared store (Redis, `CACHE_URL`) could not do what was asked: it is unreachable, or another
 * replica held a lock for longer than we could wait. The GraphQL layer answers `STORE_UNAVAILABLE`;
 * the webhook route answers 503 so Knox retries the callback later.
 */
export type StoreErrorReason = 'unreachable' | 'lock-timeout';

export class SharedStoreError extends Error {
  readonly code = 'STORE_UNAVAILABLE';

  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    readonly details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(message);
    this.name = 'SharedStoreError';
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}

/** Wraps a store failure in one error that says what could not be done and why. */
export function storeUnreachable(what: string, cause: unknown): SharedStoreError {
  if (cause instanceof SharedStoreError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SharedStoreError(
    'unreachable',
    `Fleetgraph's shared store is unreachable (${reason}); ${what}`,
    {},
    cause,
  );
}
