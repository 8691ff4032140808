import { EventEmitter, on } from 'node:events';
import type { UploadJob } from './upload-job.js';

/**
 * Job changes for `uploadJobChanged` subscribers. In-process: a webhook that reaches this replica
 * wakes subscribers on this replica (a shared pub/sub for several replicas plugs in here).
 */
export interface JobEvents {
  publish(job: UploadJob): void;
  /** Changes of one job, as they happen, until the iterator is returned. */
  subscribe(id: string, signal?: AbortSignal): AsyncIterableIterator<UploadJob>;
}

export function createLocalJobEvents(): JobEvents {
  const emitter = new EventEmitter();
  // Every Sandbox tab watching a job is one listener; the default of 10 would warn on a busy job.
  emitter.setMaxListeners(0);
  return {
    publish: (job) => {
      emitter.emit(`job:${job.id}`, job);
    },
    subscribe(id, signal) {
      const events = on(emitter, `job:${id}`, signal ? { signal } : {});
      return (async function* () {
        for await (const [job] of events) yield job as UploadJob;
      })();
    },
  };
}
