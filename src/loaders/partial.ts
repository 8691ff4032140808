/**
 * Partial results: a read that failed is an outcome to pass on, not a reason to drop what the other
 * APIs answered (DESIGN §7). These helpers keep a failure beside the values instead of unwinding past them.
 */

/** A read's outcome: its value, or the error it failed with. */
export type Settled<T> = { value: T; error?: undefined } | { value?: undefined; error: Error };

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function settle<T>(read: Promise<T>): Promise<Settled<T>> {
  return read.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: asError(error) }),
  );
}

/**
 * The first non-null value of `reads`, tried in order (each only when the ones before had nothing), for a
 * field that several APIs can answer. A failed read does not stop the others: an API that answered wins.
 * Only when none has a value is the first failure thrown (the value is unknown, not absent).
 */
export async function firstKnown<T>(...reads: Array<() => Promise<T | null | undefined>>): Promise<T | null> {
  let failure: Error | undefined;
  for (const read of reads) {
    const outcome = await settle(read());
    if (outcome.error) failure ??= outcome.error;
    else if (outcome.value !== null && outcome.value !== undefined) return outcome.value;
  }
  if (failure) throw failure;
  return null;
}
