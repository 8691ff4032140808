import { GraphQLError } from 'graphql';
import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  ObjectType,
  Field,
  Int,
  Query,
  Resolver,
  Root,
  Subscription,
  Authorized,
} from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import { validateDeviceBatch } from '../../jobs/device-batch.js';
import { endingAt } from '../../jobs/job-events.js';
import type { UploadJob as UploadJobValue, UploadJobOperation } from '../../jobs/upload-job.js';
import { IdempotencyKeyReusedError, UnconfirmedSubmissionError } from '../../jobs/upload-jobs.js';
import { decodeOffsetCursor, encodeOffsetCursor } from '../../loaders/cursor.js';
import type { CursorBinding } from '../../loaders/cursor.js';
import { PageInfo, pageInfoOf } from '../common/page-info.type.js';
import { PagingArgs, checkedFirst } from '../common/paging.args.js';
import type { GraphContext } from '../context.js';
import { DeviceConnection } from '../device/device.connection.js';
import type { DeviceConnectionValue } from '../device/device.resolver.js';
import { requireScope } from '../auth-checker.js';
import { badUserInput, notFound } from '../errors.js';
import { DeviceBatchInput, UploadJob, UploadJobStatusEnum } from './upload-job.type.js';

@ObjectType({
  description: 'One upload job of a page, with the cursor that pages on after it.',
  simpleResolvers: true,
})
class UploadJobEdge {
  @Field(() => String, {
    description:
      'Opaque; pass it as `after` to list the jobs after this one. Valid only under the status filter it came from.',
  })
  cursor: string;

  @Field(() => UploadJob, { description: 'The job at this position of the listing.' })
  node: UploadJob;
}

@ObjectType({ description: 'A page of upload jobs, newest first (Relay connection).', simpleResolvers: true })
export class UploadJobConnection {
  @Field(() => [UploadJobEdge], { description: 'The jobs of this page, newest first; empty past the end.' })
  edges: UploadJobEdge[];

  @Field(() => PageInfo, { description: 'Whether more jobs follow, and the cursor to ask for them with.' })
  pageInfo: PageInfo;

  @Field(() => Int, {
    nullable: true,
    description:
      'How many jobs the whole listing holds (all pages, under the same status filter), counted by the job store. Null when that store cannot count without reading every job: a status filter with jobs kept in Redis (CACHE_URL).',
  })
  totalCount: number | null;
}

/** The listing's page, and its count, worked out only when `totalCount` is asked for. */
export interface UploadJobConnectionValue {
  edges: Array<{ cursor: string; node: UploadJobValue }>;
  pageInfo: PageInfo;
  totalCount: () => Promise<number | null>;
}

@Resolver(() => UploadJobConnection)
export class UploadJobConnectionResolver {
  @FieldResolver(() => Int, { nullable: true })
  totalCount(@Root() connection: UploadJobConnectionValue): Promise<number | null> {
    return connection.totalCount();
  }
}

@Resolver(() => UploadJob)
export class UploadJobResolver {
  @Authorized(SCOPES.read)
  @Query(() => UploadJob, {
    nullable: true,
    description: "An upload or delete job by its id, or by KDMS's uploadId; null when no job has either.",
  })
  uploadJob(
    @Ctx() { jobs }: GraphContext,
    @Arg('id', () => ID, { description: "UploadJob.id, or KDMS's uploadId of the job (UploadJob.uploadId)." })
    id: string,
  ): Promise<UploadJobValue | null> {
    return jobs.get(id);
  }

  @Authorized(SCOPES.read)
  // Nullable: the job store (Redis with replicas) can fail, and must not blank the other root fields.
  @Query(() => UploadJobConnection, { nullable: true, description: 'Upload and delete jobs, newest first.' })
  async uploadJobs(
    @Ctx() { jobs }: GraphContext,
    @Args(() => PagingArgs) { first, after }: PagingArgs,
    @Arg('status', () => UploadJobStatusEnum, {
      nullable: true,
      description: 'Only jobs in this status; every job when left out.',
    })
    status?: UploadJobStatusEnum,
  ): Promise<UploadJobConnectionValue> {
    // A cursor pages the list it came from, under the status filter it was issued for.
    const binding: CursorBinding = { list: 'uploadJobs', scope: { kind: 'status', value: status ?? '' } };
    const offset = decodeOffsetCursor(after, binding);
    const page = await jobs.list(status ?? null, offset, checkedFirst(first));
    const edges = page.jobs.map((job, i) => ({
      cursor: encodeOffsetCursor(offset + i + 1, binding),
      node: job,
    }));
    return {
      edges,
      pageInfo: pageInfoOf(
        edges.map((e) => e.cursor),
        page.hasMore,
      ),
      totalCount: () => jobs.count(status ?? null),
    };
  }

  @Authorized(SCOPES.upload)
  @Mutation(() => UploadJob, {
    description:
      "Uploads devices to KDMS. Every identifier is checked first; if any is invalid, nothing is sent and the error lists each one (extensions.invalidItems). The job is recorded before KDMS is called and comes back PENDING; it settles when KDMS calls back. If KDMS's answer is lost (a timeout, an unreadable answer), the error names the job (extensions.jobId), which stays UNCONFIRMED until KDMS's callback or a read of KDMS settles it. Pass an idempotencyKey to retry safely.",
  })
  uploadDevices(
    @Ctx() context: GraphContext,
    @Arg('input', () => DeviceBatchInput, {
      description: 'The devices to upload and the services to register them for.',
    })
    input: DeviceBatchInput,
  ): Promise<UploadJobValue> {
    return submit(context, 'UPLOAD', input);
  }

  @Authorized(SCOPES.delete)
  @Mutation(() => UploadJob, {
    description: 'Deletes devices from KDMS; validated and settled like uploadDevices.',
  })
  deleteDevices(
    @Ctx() context: GraphContext,
    @Arg('input', () => DeviceBatchInput, {
      description: 'The devices to delete and the services to remove them from.',
    })
    input: DeviceBatchInput,
  ): Promise<UploadJobValue> {
    return submit(context, 'DELETE', input);
  }

  @Authorized(SCOPES.read)
  @Subscription(() => UploadJob, {
    description:
      "The job now, then every change; it completes once the settled job is sent (graphql-ws on /graphql). An unknown id ends it at once with NOT_FOUND; it ends with UNAUTHENTICATED when the caller's token expires.",
    // type-graphql checks @Authorized per event; the scope is checked here before anything is watched.
    subscribe: ({ args, context }) => watchJob(context as GraphContext, String(args.id)),
  })
  uploadJobChanged(
    @Root() job: UploadJobValue,
    @Arg('id', () => ID, { description: "UploadJob.id (or KDMS's uploadId) of the job to follow." })
    _id: string,
  ): UploadJobValue {
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
    // Until KDMS names the operation, there is nothing to list by.
    if (!job.uploadId) return { edges: [], pageInfo: pageInfoOf([], false) };
    const page = await listings.uploadDevices(job.uploadId, checkedFirst(first), after ?? null);
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: e.ref })),
      pageInfo: pageInfoOf(
        page.edges.map((e) => e.cursor),
        page.hasNextPage,
      ),
    };
  }
}

/** Printable ASCII, as HTTP's Idempotency-Key header allows: a UUID, a hash, a request id. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

async function submit(
  context: GraphContext,
  operation: UploadJobOperation,
  input: DeviceBatchInput,
): Promise<UploadJobValue> {
  const batch = validateDeviceBatch(input);
  if (!batch.ok) throw badUserInput(batch.message, { invalidItems: batch.invalidItems });
  if (input.targetServices.length === 0)
    throw badUserInput('targetServices must name at least one service', { argument: 'input.targetServices' });
  const key = input.idempotencyKey ?? null;
  if (key !== null && !IDEMPOTENCY_KEY.test(key))
    throw badUserInput('idempotencyKey must be 1 to 200 printable characters without spaces', {
      argument: 'input.idempotencyKey',
    });
  try {
    return await context.jobs.submit({
      operation,
      identifiers: batch.identifiers,
      duplicates: batch.duplicates,
      targetServices: [...new Set(input.targetServices)],
      idempotencyKey: key,
      submittedBy: context.auth.principal?.subject ?? null,
    });
  } catch (error) {
    if (error instanceof UnconfirmedSubmissionError)
      throw new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
    if (error instanceof IdempotencyKeyReusedError)
      throw badUserInput(error.message, { argument: 'input.idempotencyKey', jobId: error.job.id });
    throw error;
  }
}

/**
 * `uploadJobChanged`: checked before anything is attached (scope, then the job exists), and bounded by
 * the caller's token, whose expiry ends it.
 */
async function watchJob(context: GraphContext, id: string): Promise<AsyncIterable<UploadJobValue>> {
  requireScope(context.auth, [SCOPES.read]);
  const job = await context.jobs.get(id);
  if (!job) throw notFound(`No upload job with id "${id}"`, { argument: 'id' });
  const changes = context.jobs.watch(job.id);
  const expiresAt = context.auth.principal?.expiresAt;
  return expiresAt === undefined
    ? changes
    : endingAt(
        changes,
        expiresAt,
        () =>
          new GraphQLError(
            'The bearer token of this subscription expired; subscribe again with a fresh token',
            {
              extensions: { code: 'UNAUTHENTICATED' },
            },
          ),
      );
}
