import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { UploadJob as UploadJobValue } from '../../jobs/upload-job.js';
import type { GraphContext } from '../context.js';
import { UploadJob } from './upload-job.type.js';

@Resolver(() => UploadJob)
export class UploadJobResolver {
  @Query(() => UploadJob, { nullable: true, description: 'An upload or delete job by its KDMS uploadId.' })
  uploadJob(@Ctx() { jobs }: GraphContext, @Arg('id', () => ID) id: string): Promise<UploadJobValue | null> {
    return jobs.get(id);
  }
}
