import { createLocalBroadcast } from '../../src/cache/broadcast.js';
import { JobWatch, createJobEvents } from '../../src/jobs/job-events.js';
import type { UploadJob } from '../../src/jobs/upload-job.js';

/**
 * Issue 13, item 7 (the FLUSHALL part): a job that leaves the store while nothing is published (Redis
 * flushed under a live pub/sub connection) must not leave its subscribers waiting for good. Open
 * subscriptions re-read their job on a timer that runs only while one is open.
 */
const pending: UploadJob = {
  id: 'job-1',
  uploadId: 'upload-1',
  idempotencyKey: null,
  submittedBy: null,
  operation: 'UPLOAD',
  status: 'PENDING',
  targetServices: ['KAI'],
  identifiers: ['490154203237518'],
  duplicates: [],
  requested: 1,
  succeeded: null,
  failed: null,
  failures: [],
  settledBy: null,
  submittedAt: '2026-11-22T10:00:00.000Z',
  completedAt: null,
  version: 1,
};

describe('job watches re-read their job while nothing is heard', () => {
  it('end when the store no longer has the job, and stop the timer when none is open', async () => {
    const events = createJobEvents(createLocalBroadcast<UploadJob>(), { recheckMs: 10 });
    const store = new Map<string, UploadJob>([[pending.id, pending]]);
    const watch = new JobWatch(async () => store.get(pending.id) ?? null, events.subscribe(pending.id));
    expect(await watch.next()).toEqual({ value: pending, done: false });
    expect(events.listenerCount()).toBe(1);
    // The store is flushed; nothing is published.
    store.clear();
    expect(await watch.next()).toEqual({ value: undefined, done: true });
    expect(events.listenerCount()).toBe(0);
  });

  it('deliver a change that was stored but never published', async () => {
    const events = createJobEvents(createLocalBroadcast<UploadJob>(), { recheckMs: 10 });
    const store = new Map<string, UploadJob>([[pending.id, pending]]);
    const watch = new JobWatch(async () => store.get(pending.id) ?? null, events.subscribe(pending.id));
    await watch.next();
    const settled: UploadJob = {
      ...pending,
      status: 'COMPLETED',
      succeeded: 1,
      failed: 0,
      settledBy: 'POLLING',
      completedAt: '2026-11-22T10:05:00.000Z',
      version: 2,
    };
    store.set(pending.id, settled);
    expect(await watch.next()).toEqual({ value: settled, done: false });
    expect(await watch.next()).toEqual({ value: undefined, done: true });
  });
});
