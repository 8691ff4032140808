import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, ID, Info, Query, Resolver } from 'type-graphql';
import type { DeviceRef } from '../../domain/device-ref.js';
import { parseNodeId } from '../../domain/node-id.js';
import { SCOPES } from '../../domain/scopes.js';
import type { UploadJob } from '../../jobs/upload-job.js';
import type { GraphContext } from '../context.js';
import { findDevice } from '../device/device.resolver.js';
import { badUserInput } from '../errors.js';
import { findUser } from '../user/user.resolver.js';
import type { UserRef } from '../user/user.type.js';
import { Node } from './node.type.js';

/** uploadJob(id) also finds a job by KDMS's uploadId; a node is only ever the object with this very id. */
async function jobByNodeId(jobs: GraphContext['jobs'], id: string): Promise<UploadJob | null> {
  const job = await jobs.get(id);
  return job?.id === id ? job : null;
}

/**
 * `node(id)`: each kind of id is read as that type's own query reads it (device(id), user(userId),
 * uploadJob(id)), through the same loaders; all three need the read scope, checked before any read.
 */
@Resolver(() => Node)
export class NodeResolver {
  @Authorized(SCOPES.read)
  @Query(() => Node, {
    nullable: true,
    description:
      'The device, user or upload job with this global id (Node.id), read as device(id), user(userId) or uploadJob(id) read it. Null when nothing has the id; BAD_USER_INPUT when it cannot be one Fleetgraph issues (a damaged device or user id; empty, or with spaces or control characters).',
  })
  node(
    @Ctx() { loaders, jobs }: GraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('id', () => ID, { description: 'A Node.id from an earlier answer.' }) id: string,
  ): Promise<DeviceRef | UserRef | UploadJob | null> {
    const key = parseNodeId(id);
    if (!key) throw badUserInput(`"${id}" is not a node id`, { argument: 'id' });
    switch (key.type) {
      case 'Device':
        return findDevice(loaders, key.lookup, info, ['Device', 'Node']);
      case 'User':
        return findUser(loaders, key.userId, info, ['User', 'Node']);
      case 'UploadJob':
        return jobByNodeId(jobs, key.id);
    }
  }
}
