import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum UploadJobOperationEnum {
  UPLOAD = 'UPLOAD',
  DELETE = 'DELETE',
}
registerEnumType(UploadJobOperationEnum, { name: 'UploadJobOperation' });

export enum UploadJobStatusEnum {
  UNCONFIRMED = 'UNCONFIRMED',
  PENDING = 'PENDING',
  COMPLETED = 'COMPLETED',
  PARTIALLY_COMPLETED = 'PARTIALLY_COMPLETED',
  FAILED = 'FAILED',
}
registerEnumType(UploadJobStatusEnum, {
  name: 'UploadJobStatus',
  valuesConfig: {
    UNCONFIRMED: {
      description:
        "Recorded and sent to KDMS, but KDMS's answer is not known: the call is in flight, or its answer timed out, was cut off or could not be read. KDMS may have taken it; its callback (matched by the devices) or a read of KDMS settles it.",
    },
    PENDING: { description: 'KDMS accepted the job (202, uploadId known) and has not reported back yet.' },
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
  @Field(() => ID, {
    description:
      "Fleetgraph's id for the job, made when it is recorded, before KDMS is called. (Jobs recorded by earlier versions carry KDMS's uploadId here; uploadJob(id) finds a job by either.)",
  })
  id: string;

  @Field(() => ID, {
    nullable: true,
    description: "KDMS's id for the operation (its uploadId); null while the job is UNCONFIRMED.",
  })
  uploadId: string | null;

  @Field(() => String, { nullable: true, description: 'The idempotency key the job was submitted with.' })
  idempotencyKey: string | null;

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

  @Field(() => Int, { nullable: true, description: 'Devices that succeeded; null until the job settles.' })
  succeeded: number | null;

  @Field(() => Int, { nullable: true, description: 'Devices that failed; null until the job settles.' })
  failed: number | null;

  @Field(() => [DeviceFailure])
  failures: DeviceFailure[];

  @Field(() => UploadJobSettlementEnum, { nullable: true, description: 'Null until the job settles.' })
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

  @Field(() => String, {
    nullable: true,
    description:
      'Your key for this batch (1 to 200 printable characters, e.g. a UUID). Sending the same batch again with the same key returns the job the first call made and sends nothing to KDMS, even when the first answer never reached you; the same key with another batch is refused. Keys are per caller.',
  })
  idempotencyKey?: string | null;
}
