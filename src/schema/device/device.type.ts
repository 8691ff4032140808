import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import {
  DeviceOwnershipEnum,
  DevicePlatformEnum,
  ManagementStatusEnum,
  UpstreamEnum,
} from '../common/enums.js';
import { Node } from '../node/node.type.js';

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

  @Field(() => String, {
    nullable: true,
    description:
      "The device's phone number as Knox Manage records it (its `phone`, as entered: no fixed format); null when it has none.",
  })
  phoneNumber: string | null;

  @Field(() => String, { nullable: true, description: 'Model name, e.g. Galaxy S24.' })
  modelName: string | null;

  @Field(() => DevicePlatformEnum, {
    nullable: true,
    description:
      "Operating system family, from Knox Manage's platform code; OTHER for a code its reference does not document. Null when Knox Manage sends none.",
  })
  platform: DevicePlatformEnum | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Knox Manage's platform code exactly as sent (A: Android, I: iOS, W: Windows; others undocumented); null when it sends none.",
  })
  platformCode: string | null;

  @Field(() => DeviceOwnershipEnum, {
    nullable: true,
    description:
      "Who owns the device, from Knox Manage's ownership code (`ownerShip`); OTHER for a code its reference does not document. Null when Knox Manage does not say.",
  })
  ownership: DeviceOwnershipEnum | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Knox Manage's ownership code exactly as sent (E: BYOD, EC: COPE, C: company-owned; others undocumented); null when it does not say.",
  })
  ownershipCode: string | null;

  @Field(() => DateTimeResolver, {
    nullable: true,
    description:
      "When the device last connected to Knox Manage (its lastConnectionDate). Knox Manage's device lists leave it out, so a listed device often has none: null when Knox Manage does not say.",
  })
  lastConnectedAt: string | null;

  @Field(() => [String], {
    description:
      "The device's Knox Manage tags (each tag's value), in Knox Manage's order. Empty when it has none, and on a device read on its own: Knox Manage's single-device answer carries no tags.",
  })
  tags: string[];

  @Field(() => String, {
    nullable: true,
    description:
      'Name of the Knox Manage organization the device belongs to (its orgName); null when it does not say.',
  })
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
@ObjectType({ description: 'A device, as KDMS, Knox Manage and Box know it.', implements: Node })
export class Device implements Node {
  @Field(() => ID, {
    description:
      'Stable, opaque and globally unique; derived from the IMEI, else the serial number. device(id) and node(id) find the device by it.',
  })
  id: string;

  @Field(() => String, {
    nullable: true,
    description:
      "Primary IMEI (15 digits): the one the device was asked for by, else KDMS's, else Knox Manage's. Null when no API knows one (a device known by serial number only).",
  })
  imei: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Second IMEI of a dual-SIM device (15 digits), from KDMS, else Knox Manage. Null when neither says (single-SIM devices have none).',
  })
  secondaryImei: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The manufacturer's serial number (e.g. R58N12ABCDE): the one the device was asked for by, else KDMS's, else Knox Manage's. Null when no API knows it.",
  })
  serialNumber: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Mobile Equipment Identifier (14 hexadecimal digits, CDMA devices), from KDMS. Null when KDMS does not hold the device or records none.',
  })
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

  @Field(() => [UpstreamEnum], {
    nullable: true,
    description:
      'The APIs that know this device (asks each one). Null, with the error, when one cannot answer: never an incomplete list.',
  })
  sources: UpstreamEnum[] | null;
}
