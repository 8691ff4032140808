import type { Keyv } from 'keyv';
import type { UploadJob } from './upload-job.js';

/** Upload jobs by id, in the `jobs` keyv store. */
export class UploadJobStore {
  constructor(private readonly store: Keyv) {}

  async get(id: string): Promise<UploadJob | null> {
    return ((await this.store.get(`job:${id}`)) as UploadJob | undefined) ?? null;
  }

  async put(job: UploadJob): Promise<void> {
    await this.store.set(`job:${job.id}`, job);
  }
}
