import { Keyv } from 'keyv';

/**
 * keyv stores by purpose. In memory by default; a shared backend (Redis, `CACHE_URL`) plugs in here so
 * that tokens, read caches and jobs move together.
 */
export type StorePurpose = 'tokens' | 'reads' | 'jobs';

export interface StoreFactory {
  create(purpose: StorePurpose): Keyv;
}

export function createMemoryStoreFactory(): StoreFactory {
  return {
    create: (purpose) => new Keyv({ namespace: `fleetgraph:${purpose}` }),
  };
}
