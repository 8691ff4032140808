import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { ManagementStatusEnum, UpstreamEnum } from '../common/enums.js';

@ObjectType({
  description: 'A device registration in Knox Device Management Service.',
  simpleResolvers: true,
})
export class KdmsRegistration {
  @Field(() => ID, { description: "KDMS's device id." })
  deviceId: string;

  @Field(() => String, { nullable: true, description: 'The Knox customer that owns the device.' })
  customerId: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The upload (operation) that registered the device last; null when KDMS does not say.',
  })
  uploadId: string | null;

  @Field(() => [String], { description: 'Knox services the device is registered for, e.g. KAI.' })
  targetServices: string[];

  @Field(() => DateTimeResolver, { nullable: true, description: 'When KDMS registered it, if KDMS says.' })
  uploadedAt: string | null;
}

@ObjectType({ description: 'A device as Knox Manage manages it.' })
export class ManagedDevice {
  @Field(() => ID, { description: "Knox Manage's device id." })
  deviceId: string;

  @Field(() => String, { nullable: true, description: "Knox Manage's device name (mobile id)." })
  mobileId: string | null;

  @Field(() => ManagementStatusEnum, {
    nullable: true,
    description: 'Null when Knox Manage sent no status or one it does not document.',
  })
  status: ManagementStatusEnum | null;

  @Field(() => String, { nullable: true })
  phoneNumber: string | null;

  @Field(() => String, { nullable: true, description: 'Model name, e.g. Galaxy S24.' })
  modelName: string | null;

  @Field(() => String, { nullable: true })
  platform: string | null;

  @Field(() => DateTimeResolver, { nullable: true })
  lastConnectedAt: string | null;

  @Field(() => [String])
  tags: string[];

  @Field(() => String, { nullable: true })
  organization: string | null;
}

@ObjectType({ description: 'Access control of a device in the Box admin API.', simpleResolvers: true })
export class BoxDevice {
  @Field(() => ID, { description: "Box's global id of the device." })
  guid: string;

  @Field(() => String, { description: 'The id the device gave itself; its IMEI or serial number.' })
  cuid: string;

  @Field(() => String, { nullable: true, description: 'Friendly name of the device.' })
  name: string | null;

  @Field(() => Boolean, { nullable: true, description: 'The device may not log in (Box `disabled`).' })
  loginBlocked: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Apps purge their data the next time the device authenticates (Box `blacklisted`).',
  })
  purgeAppDataOnNextLogin: boolean | null;
}

/**
 * A device, joined across the three APIs by IMEI, then serial number. Root values are DeviceRef
 * objects; upstream-backed fields resolve through loaders and are nullable, so one failing API
 * costs only its own fields.
 */
@Directive('@key(fields: "id")')
@Directive('@key(fields: "imei")')
@Directive('@key(fields: "serialNumber")')
@ObjectType({ description: 'A device, as KDMS, Knox Manage and Box know it.' })
export class Device {
  @Field(() => ID, { description: 'Stable and opaque; derived from the IMEI, else the serial number.' })
  id: string;

  @Field(() => String, { nullable: true, description: 'Primary IMEI (15 digits).' })
  imei: string | null;

  @Field(() => String, { nullable: true })
  secondaryImei: string | null;

  @Field(() => String, { nullable: true })
  serialNumber: string | null;

  @Field(() => String, { nullable: true })
  meid: string | null;

  @Field(() => String, { nullable: true, description: 'Model number, e.g. SM-S921B.' })
  model: string | null;

  @Field(() => KdmsRegistration, {
    nullable: true,
    description: 'The KDMS registration; null when KDMS does not hold the device.',
  })
  registration: KdmsRegistration | null;

  @Field(() => ManagedDevice, {
    nullable: true,
    description: 'Knox Manage management; null when Knox Manage does not manage it.',
  })
  management: ManagedDevice | null;

  @Field(() => BoxDevice, {
    nullable: true,
    description: 'Box access control; null when Box does not know it.',
  })
  access: BoxDevice | null;

  @Field(() => [UpstreamEnum], { nullable: true, description: 'The APIs that know this device.' })
  sources: UpstreamEnum[] | null;
}
