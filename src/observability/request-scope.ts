import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What belongs to the request being served, wherever the code runs: the request id that logs carry
 * and that every upstream call forwards (`x-request-id`), so one id follows a request across systems.
 */
export interface RequestScope {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export const REQUEST_ID_HEADER = 'x-request-id';

export function runInRequestScope<T>(requestId: string | undefined, fn: () => T): T {
  // Accept a caller's id only if it is a plain token: it ends up in logs and upstream headers.
  const id = requestId && /^[\w.:-]{1,128}$/.test(requestId) ? requestId : randomUUID();
  return storage.run({ requestId: id }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
