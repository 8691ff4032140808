import { FieldResolver, Resolver, Root, Authorized } from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import type { ManagedDevice } from '../../domain/fleet.js';
import { ownershipOf, platformOf } from '../../domain/managed-device-codes.js';
import type { DeviceOwnership, DevicePlatform } from '../../domain/managed-device-codes.js';
import { User } from '../user/user.type.js';
import type { UserRef } from '../user/user.type.js';
import { ManagedDevice as ManagedDeviceType } from './device.type.js';

/** Root values are the domain's ManagedDevice records, which keep Knox Manage's raw codes. */
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

  @FieldResolver()
  platform(@Root() managed: ManagedDevice): DevicePlatform | null {
    return platformOf(managed.platform);
  }

  @FieldResolver()
  platformCode(@Root() managed: ManagedDevice): string | null {
    return managed.platform;
  }

  @FieldResolver()
  ownership(@Root() managed: ManagedDevice): DeviceOwnership | null {
    return ownershipOf(managed.ownership);
  }

  @FieldResolver()
  ownershipCode(@Root() managed: ManagedDevice): string | null {
    // Records cached or indexed before ownership was read have no such key.
    return managed.ownership ?? null;
  }
}
