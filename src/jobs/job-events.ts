import { EventEmitter, on } from 'node:events';
import type { Broadcast } from '../cache/broadcast.js';
import type { UploadJob } from './upload-job.js';

/**
 * Job changes for `uploadJobChanged` subscribers, carried by a broadcast: in-process alone, through
 * Redis pub/sub with `CACHE_URL`, so a webhook that reaches replica A wakes a subscriber on replica B.
 */
export interface JobEvents {
  publish(job: UploadJob): void;
  /** Changes of one job, as they happen, until the iterator is returned. */
  subscribe(id: string, signal?: AbortSignal): AsyncIterableIterator<UploadJob>;
}

export function createJobEvents(broadcast: Broadcast<UploadJob>): JobEvents {
  const emitter = new EventEmitter();
  // Every Sandbox tab watching a job is one listener; the default of 10 would warn on a busy job.
  emitter.setMaxListeners(0);
  broadcast.subscribe((job) => emitter.emit(`job:${job.id}`, job));
  return {
    publish: (job) => broadcast.publish(job),
    subscribe(id, signal) {
      const events = on(emitter, `job:${id}`, signal ? { signal } : {});
      return (async function* () {
        for await (const [job] of events) yield job as UploadJob;
      })();
    },
  };
}
