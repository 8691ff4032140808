import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

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

export enum UploadJobSettlementEnum {
  WEBHOOK = 'WEBHOOK',
  POLLING = 'POLLING',
}
registerEnumType(UploadJobSettlementEnum, {
  name: 'UploadJobSettlement',
  description: 'How Fleetgraph learned the outcome.',
  valuesConfig: {
    WEBHOOK: {
      description: "KDMS's signed Knox Webhook Notification callback (carries KDMS's reason per device).",
    },
    POLLING: {
      description: 'No callback came in time, so Fleetgraph read KDMS getDevices (reasons unknown).',
    },
  },
});

export enum TargetServiceEnum {
  KAI = 'KAI',
}
registerEnumType(TargetServiceEnum, {
  name: 'TargetService',
  description: 'Knox services a device is registered for.',
  valuesConfig: { KAI: { description: 'Knox Asset Intelligence.' } },
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
@ObjectType({ description: 'An asynchronous upload or delete of devices in KDMS.' })
export class UploadJob {
  @Field(() => ID, { description: "KDMS's uploadId." })
  id: string;

  @Field(() => UploadJobOperationEnum)
  operation: UploadJobOperationEnum;

  @Field(() => UploadJobStatusEnum)
  status: UploadJobStatusEnum;

  @Field(() => [TargetServiceEnum])
  targetServices: TargetServiceEnum[];

  @Field(() => Int, { description: 'Distinct devices submitted.' })
  requested: number;

  @Field(() => [String], { description: 'Identifiers given more than once; each was submitted once.' })
  duplicates: string[];

  @Field(() => Int, { nullable: true, description: 'Devices that succeeded; null while pending.' })
  succeeded: number | null;

  @Field(() => Int, { nullable: true, description: 'Devices that failed; null while pending.' })
  failed: number | null;

  @Field(() => [DeviceFailure])
  failures: DeviceFailure[];

  @Field(() => UploadJobSettlementEnum, { nullable: true, description: 'Null while pending.' })
  settledBy: UploadJobSettlementEnum | null;

  @Field(() => DateTimeResolver)
  submittedAt: string;

  @Field(() => DateTimeResolver, { nullable: true })
  completedAt: string | null;
}

@InputType({ description: 'Devices to upload to or delete from KDMS, by IMEI and/or serial number.' })
export class DeviceBatchInput {
  @Field(() => [String], { nullable: true, description: 'IMEIs: 15 digits with a valid Luhn check digit.' })
  imeis?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: 'Serial numbers: 8 to 20 upper-case letters and digits.',
  })
  serialNumbers?: string[] | null;

  @Field(() => [TargetServiceEnum], { defaultValue: [TargetServiceEnum.KAI] })
  targetServices: TargetServiceEnum[];
}
