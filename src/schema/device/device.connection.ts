import { Field, InputType, ObjectType } from 'type-graphql';
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
