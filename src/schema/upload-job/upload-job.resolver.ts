import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  ObjectType,
  Field,
  Query,
  Resolver,
  Root,
  Subscription,
  Authorized,
} from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import type { UploadJob as UploadJobValue, UploadJobOperation } from '../../jobs/upload-job.js';
import { validateDeviceBatch } from '../../jobs/device-batch.js';
import { decodeOffsetCursor, encodeOffsetCursor } from '../../loaders/cursor.js';
import { PageInfo, pageInfoOf } from '../common/page-info.type.js';
import { PagingArgs, checkedFirst } from '../common/paging.args.js';
import type { GraphContext } from '../context.js';
import { DeviceConnection } from '../device/device.connection.js';
import type { DeviceConnectionValue } from '../device/device.resolver.js';
import { requireScope } from '../auth-checker.js';
import { badUserInput } from '../errors.js';
import { DeviceBatchInput, UploadJob, UploadJobStatusEnum } from './upload-job.type.js';

@ObjectType({ simpleResolvers: true })
class UploadJobEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => UploadJob)
  node: UploadJob;
}

@ObjectType({ description: 'A page of upload jobs, newest first (Relay connection).', simpleResolvers: true })
export class UploadJobConnection {
  @Field(() => [UploadJobEdge])
  edges: UploadJobEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

@Resolver(() => UploadJob)
export class UploadJobResolver {
  @Authorized(SCOPES.read)
  @Query(() => UploadJob, { nullable: true, description: 'An upload or delete job by its KDMS uploadId.' })
  uploadJob(@Ctx() { jobs }: GraphContext, @Arg('id', () => ID) id: string): Promise<UploadJobValue | null> {
    return jobs.get(id);
  }

  @Authorized(SCOPES.read)
  @Query(() => UploadJobConnection, { description: 'Upload and delete jobs, newest first.' })
  async uploadJobs(
    @Ctx() { jobs }: GraphContext,
    @Args(() => PagingArgs) { first, after }: PagingArgs,
    @Arg('status', () => UploadJobStatusEnum, { nullable: true }) status?: UploadJobStatusEnum,
  ) {
    const offset = decodeOffsetCursor(after);
    const page = await jobs.list(status ?? null, offset, checkedFirst(first));
    const edges = page.jobs.map((job, i) => ({ cursor: encodeOffsetCursor(offset + i + 1), node: job }));
    return {
      edges,
      pageInfo: pageInfoOf(
        edges.map((e) => e.cursor),
        page.hasMore,
      ),
    };
  }

  @Authorized(SCOPES.upload)
  @Mutation(() => UploadJob, {
    description:
      'Uploads devices to KDMS. Every identifier is checked first; if any is invalid, nothing is sent and the error lists each one (extensions.invalidItems). Returns the job as PENDING; it settles when KDMS calls back.',
  })
  uploadDevices(
    @Ctx() context: GraphContext,
    @Arg('input', () => DeviceBatchInput) input: DeviceBatchInput,
  ): Promise<UploadJobValue> {
    return submit(context, 'UPLOAD', input);
  }

  @Authorized(SCOPES.delete)
  @Mutation(() => UploadJob, {
    description: 'Deletes devices from KDMS; validated and settled like uploadDevices.',
  })
  deleteDevices(
    @Ctx() context: GraphContext,
    @Arg('input', () => DeviceBatchInput) input: DeviceBatchInput,
  ): Promise<UploadJobValue> {
    return submit(context, 'DELETE', input);
  }

  @Authorized(SCOPES.read)
  @Subscription(() => UploadJob, {
    description: 'The job now, then every change until it settles (graphql-ws on /graphql).',
    // type-graphql checks @Authorized per event; the scope is checked here before anything is watched.
    subscribe: ({ args, context }) => {
      requireScope((context as GraphContext).auth, [SCOPES.read]);
      return (context as GraphContext).jobs.watch(String(args.id));
    },
  })
  uploadJobChanged(@Root() job: UploadJobValue, @Arg('id', () => ID) _id: string): UploadJobValue {
    return job;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => DeviceConnection, {
    nullable: true,
    description: 'Devices KDMS registered under this upload (getDevices by uploadId).',
  })
  async devices(
    @Root() job: UploadJobValue,
    @Ctx() { listings }: GraphContext,
    @Args(() => PagingArgs) { first, after }: PagingArgs,
  ): Promise<DeviceConnectionValue> {
    const page = await listings.uploadDevices(job.id, checkedFirst(first), after ?? null);
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: e.ref })),
      pageInfo: pageInfoOf(
        page.edges.map((e) => e.cursor),
        page.hasNextPage,
      ),
    };
  }
}

async function submit(
  context: GraphContext,
  operation: UploadJobOperation,
  input: DeviceBatchInput,
): Promise<UploadJobValue> {
  const batch = validateDeviceBatch(input);
  if (!batch.ok) throw badUserInput(batch.message, { invalidItems: batch.invalidItems });
  if (input.targetServices.length === 0)
    throw badUserInput('targetServices must name at least one service', { argument: 'input.targetServices' });
  return context.jobs.submit({
    operation,
    identifiers: batch.identifiers,
    duplicates: batch.duplicates,
    targetServices: [...new Set(input.targetServices)],
  });
}
