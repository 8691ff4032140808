import { FieldResolver, Resolver, Root } from 'type-graphql';
import type { ManagedDevice } from '../../domain/fleet.js';
import { User } from '../user/user.type.js';
import type { UserRef } from '../user/user.type.js';
import { ManagedDevice as ManagedDeviceType } from './device.type.js';

@Resolver(() => ManagedDeviceType)
export class ManagedDeviceResolver {
  @FieldResolver(() => User, {
    nullable: true,
    description: 'The Knox Manage user the device is assigned to.',
  })
  owner(@Root() managed: ManagedDevice): UserRef | null {
    return managed.ownerUserId ? { userId: managed.ownerUserId } : null;
  }
}
