import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Keyv } from 'keyv';
import { KeyvFile } from 'keyv-file';

/**
 * keyv stores by purpose. Tokens and read caches live in memory; upload jobs live in a file so a restart
 * keeps them. A shared backend (Redis, `CACHE_URL`) plugs in here so that every store moves together.
 */
export type StorePurpose = 'tokens' | 'reads' | 'jobs';

export interface StoreFactory {
  create(purpose: StorePurpose): Keyv;
  /** Flushes and closes every store it made (file writes are delayed a few ms). */
  close(): Promise<void>;
}

export interface StoreFactoryOptions {
  /** Upload jobs persist here; null keeps them in memory (tests that do not restart). */
  jobsFile: string | null;
}

export function createStoreFactory(options: StoreFactoryOptions = { jobsFile: null }): StoreFactory {
  const made: Keyv[] = [];
  return {
    create(purpose) {
      let store: Keyv;
      if (purpose === 'jobs' && options.jobsFile) {
        mkdirSync(dirname(options.jobsFile), { recursive: true });
        // writeDelay batches bursts of job updates into one write; `await set` waits for it.
        store = new Keyv({
          store: new KeyvFile({ filename: options.jobsFile, writeDelay: 20, expiredCheckDelay: 60 * 60_000 }),
          namespace: `fleetgraph:${purpose}`,
        });
      } else {
        store = new Keyv({ namespace: `fleetgraph:${purpose}` });
      }
      made.push(store);
      return store;
    },
    async close() {
      await Promise.all(made.map((s) => s.disconnect()));
    },
  };
}
