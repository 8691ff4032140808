/**
 * Runs `task` over `items` with at most `limit` in flight and keeps each outcome in its item's slot:
 * one failed key is an Error in that slot (the DataLoader contract), not a failed batch.
 */
export async function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<Array<R | Error>> {
  const results = new Array<R | Error>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        results[index] = error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Shares one in-flight promise among identical concurrent calls; the next call after it settles starts anew. */
export class SingleFlight {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  run<T>(key: string, load: () => Promise<T>): Promise<T> {
    const current = this.inFlight.get(key);
    if (current) return current as Promise<T>;
    const started = load().finally(() => {
      // Only its own entry: a flight forgotten by a write may already have a successor.
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  /** Later calls start a new flight instead of joining one that began before a write. */
  forget(key: string): void {
    this.inFlight.delete(key);
  }
}
