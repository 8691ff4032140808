import { DateTimeResolver } from 'graphql-scalars';
import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DevicePlatformEnum, ManagementStatusEnum, UpstreamEnum } from '../common/enums.js';
import { PageInfo } from '../common/page-info.type.js';
import { Device } from './device.type.js';

@ObjectType({
  description: 'One device of a page, with the cursor that pages on after it.',
  simpleResolvers: true,
})
export class DeviceEdge {
  @Field(() => String, {
    description:
      'Opaque; pass it as `after` to list the devices after this one. Valid only for the listing (and filter) it came from.',
  })
  cursor: string;

  @Field(() => Device, { description: 'The device at this position of the listing.' })
  node: Device;
}

@ObjectType({ description: 'A page of devices (Relay connection).', simpleResolvers: true })
export class DeviceConnection {
  @Field(() => [DeviceEdge], {
    description: 'The devices of this page, in listing order; empty past the end.',
  })
  edges: DeviceEdge[];

  @Field(() => PageInfo, { description: 'Whether more devices follow, and the cursor to ask for them with.' })
  pageInfo: PageInfo;

  @Field(() => Int, {
    nullable: true,
    description:
      "How many devices the whole listing holds (all pages). Query.devices: counted by the fleet index, so null, with a FLEET_INDEX_UNAVAILABLE error, while it is off or not yet synced. User.devices: the length of Knox Manage's list of the user's devices. UploadJob.devices: not counted (null, with that error).",
  })
  totalCount: number | null;
}

@InputType({
  description: 'Narrows a device listing. Without a filter, every device of every API is listed once.',
})
export class DeviceFilterInput {
  @Field(() => UpstreamEnum, { nullable: true, description: 'Only devices this API holds.' })
  source?: UpstreamEnum;

  @Field(() => ManagementStatusEnum, {
    nullable: true,
    description: 'Only Knox Manage devices in this status.',
  })
  managementStatus?: ManagementStatusEnum;

  @Field(() => String, { nullable: true, description: 'Only devices Knox Manage assigns to this user.' })
  userId?: string;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Only devices Box blocks from logging in (true) or lets log in (false). Fleet index only.',
  })
  loginBlocked?: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Only this model number, e.g. SM-S921B. Fleet index only.',
  })
  model?: string;

  @Field(() => DevicePlatformEnum, {
    nullable: true,
    description:
      'Only Knox Manage devices of this platform (ManagedDevice.platform). OTHER is refused (BAD_USER_INPUT): it stands for every code Knox Manage does not document, not one code. Fleet index only.',
  })
  platform?: DevicePlatformEnum;

  @Field(() => DateTimeResolver, {
    nullable: true,
    description:
      'Only Knox Manage devices not seen since this time: last connected (or, where its list gives no connection time, last updated) before it, or never. Fleet index only.',
  })
  notSeenSince?: Date;

  @Field(() => String, {
    nullable: true,
    description:
      "Text search: every word must start a word of the device's name, IMEI, serial number, model or owner (id, name, e-mail). Fleet index only.",
  })
  search?: string;
}

export enum DeviceOrderField {
  ID = 'ID',
  MODEL = 'MODEL',
  NAME = 'NAME',
  STATUS = 'STATUS',
  LAST_CONNECTED_AT = 'LAST_CONNECTED_AT',
}
registerEnumType(DeviceOrderField, {
  name: 'DeviceOrderField',
  description: 'What a device listing is sorted by; ties are broken by device id.',
  valuesConfig: {
    ID: { description: 'The device id (IMEI, else serial number).' },
    MODEL: { description: 'Model number.' },
    NAME: { description: "Box's name for the device, else Knox Manage's." },
    STATUS: { description: 'Knox Manage status.' },
    LAST_CONNECTED_AT: {
      description: 'When Knox Manage last saw the device (see DeviceFilterInput.notSeenSince).',
    },
  },
});

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, {
  name: 'OrderDirection',
  description: 'Which way a listing is sorted.',
  valuesConfig: {
    ASC: { description: 'Ascending: A to Z, oldest first; devices without the value come first.' },
    DESC: { description: 'Descending: Z to A, newest first; devices without the value come last.' },
  },
});

@InputType({ description: 'The order of a device listing. Needs the fleet index.' })
export class DeviceOrder {
  @Field(() => DeviceOrderField, { description: 'What the devices are sorted by.' })
  field: DeviceOrderField;

  @Field(() => OrderDirection, {
    defaultValue: OrderDirection.ASC,
    description: 'Ascending unless given; ties are broken by device id in the same direction.',
  })
  direction: OrderDirection;
}

@ObjectType({ description: 'How many devices have one value.', simpleResolvers: true })
export class CountByValue {
  @Field(() => String, { nullable: true, description: 'Null: the APIs do not say.' })
  value: string | null;

  @Field(() => Int, { description: 'How many of the counted devices have this value.' })
  count: number;
}

@ObjectType({ description: 'Counts over the fleet, from the fleet index.', simpleResolvers: true })
export class FleetSummary {
  @Field(() => Int, { description: 'Devices matching the filter.' })
  total: number;

  @Field(() => [CountByValue], { description: 'Devices each API holds (a device may be in several).' })
  bySource: CountByValue[];

  @Field(() => [CountByValue], { description: 'Knox Manage status; null value: not in Knox Manage.' })
  byManagementStatus: CountByValue[];

  @Field(() => [CountByValue], { description: 'The 50 most common models.' })
  byModel: CountByValue[];

  @Field(() => DateTimeResolver, {
    nullable: true,
    description: 'The oldest source sync these counts rest on.',
  })
  syncedAt: string | null;
}

@InputType({ description: 'Changes to a device in Box; absent fields stay as they are.' })
export class DeviceAccessInput {
  @Field(() => String, {
    nullable: true,
    description: "The device's new friendly name in Box (BoxDevice.name); must not be empty.",
  })
  name?: string;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Block (true) or allow (false) the device logging in.',
  })
  loginBlocked?: boolean;

  @Field(() => Boolean, {
    nullable: true,
    description: "Purge apps' data the next time the device authenticates.",
  })
  purgeAppDataOnNextLogin?: boolean;
}
