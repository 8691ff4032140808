import { DateTimeResolver } from 'graphql-scalars';
import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ManagementStatusEnum, UpstreamEnum } from '../common/enums.js';
import { PageInfo } from '../common/page-info.type.js';
import { Device } from './device.type.js';

@ObjectType({ simpleResolvers: true })
export class DeviceEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => Device)
  node: Device;
}

@ObjectType({ description: 'A page of devices (Relay connection).', simpleResolvers: true })
export class DeviceConnection {
  @Field(() => [DeviceEdge])
  edges: DeviceEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int, {
    nullable: true,
    description:
      'How many devices the whole listing holds (all pages). Counted by the fleet index: null, with a FLEET_INDEX_UNAVAILABLE error, while it is off or not yet synced.',
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

  @Field(() => String, {
    nullable: true,
    description: 'Only this Knox Manage platform code. Fleet index only.',
  })
  platform?: string;

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
      description: 'When Knox Manage last saw the device (see DeviceFilter.notSeenSince).',
    },
  },
});

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, { name: 'OrderDirection' });

@InputType({ description: 'The order of a device listing. Needs the fleet index.' })
export class DeviceOrder {
  @Field(() => DeviceOrderField)
  field: DeviceOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC })
  direction: OrderDirection;
}

@ObjectType({ description: 'How many devices have one value.', simpleResolvers: true })
export class CountByValue {
  @Field(() => String, { nullable: true, description: 'Null: the APIs do not say.' })
  value: string | null;

  @Field(() => Int)
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
  @Field(() => String, { nullable: true })
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
