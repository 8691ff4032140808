import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum UploadJobOperationEnum {
  UPLOAD = 'UPLOAD',
  DELETE = 'DELETE',
}
registerEnumType(UploadJobOperationEnum, { name: 'UploadJobOperation' });

export enum UploadJobStatusEnum {
  PENDING = 'PENDING',
  COMPLETED = 'COMPLETED',
  PARTIALLY_COMPLETED = 'PARTIALLY_COMPLETED',
  FAILED = 'FAILED',
}
registerEnumType(UploadJobStatusEnum, {
  name: 'UploadJobStatus',
  valuesConfig: {
    PENDING: { description: 'KDMS accepted the job (202) and has not reported back yet.' },
    COMPLETED: { description: 'Every device succeeded.' },
    PARTIALLY_COMPLETED: { description: 'Some devices failed; see failures.' },
    FAILED: { description: 'Every device failed.' },
  },
});

@ObjectType({ description: 'Why KDMS refused one device of a job.', simpleResolvers: true })
export class DeviceFailure {
  @Field(() => String, { description: 'The IMEI or serial number as submitted.' })
  identifier: string;

  @Field(() => String, { description: "KDMS's error code, e.g. IMEI_EXIST_IN_DIFFERENT_ACCOUNT." })
  code: string;

  @Field(() => String)
  message: string;
}

@Directive('@key(fields: "id")')
@ObjectType({ description: 'An asynchronous upload or delete of devices in KDMS.', simpleResolvers: true })
export class UploadJob {
  @Field(() => ID, { description: "KDMS's uploadId." })
  id: string;

  @Field(() => UploadJobOperationEnum)
  operation: UploadJobOperationEnum;

  @Field(() => UploadJobStatusEnum)
  status: UploadJobStatusEnum;

  @Field(() => [String])
  targetServices: string[];

  @Field(() => Int, { description: 'Devices submitted.' })
  requested: number;

  @Field(() => Int, { nullable: true, description: 'Devices that succeeded; null while pending.' })
  succeeded: number | null;

  @Field(() => Int, { nullable: true, description: 'Devices that failed; null while pending.' })
  failed: number | null;

  @Field(() => [DeviceFailure])
  failures: DeviceFailure[];

  @Field(() => DateTimeResolver)
  submittedAt: string;

  @Field(() => DateTimeResolver, { nullable: true })
  completedAt: string | null;
}
