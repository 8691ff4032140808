import { FieldResolver, Resolver, Root, Authorized } from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import type { ManagedDevice } from '../../domain/fleet.js';
import { User } from '../user/user.type.js';
import type { UserRef } from '../user/user.type.js';
import { ManagedDevice as ManagedDeviceType } from './device.type.js';

@Resolver(() => ManagedDeviceType)
export class ManagedDeviceResolver {
  @Authorized(SCOPES.read)
  @FieldResolver(() => User, {
    nullable: true,
    description: 'The Knox Manage user the device is assigned to.',
  })
  owner(@Root() managed: ManagedDevice): UserRef | null {
    return managed.ownerUserId ? { userId: managed.ownerUserId } : null;
  }
}
