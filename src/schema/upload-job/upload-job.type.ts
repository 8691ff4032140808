import { DateTimeResolver } from 'graphql-scalars';
import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../node/node.type.js';

export enum UploadJobOperationEnum {
  UPLOAD = 'UPLOAD',
  DELETE = 'DELETE',
}
registerEnumType(UploadJobOperationEnum, {
  name: 'UploadJobOperation',
  description: 'What an upload job does to its devices in KDMS.',
  valuesConfig: {
    UPLOAD: { description: 'Registers the devices with KDMS for the target services (devices/upload).' },
    DELETE: { description: 'Removes the devices from KDMS (devices/delete).' },
  },
});

export enum UploadJobStatusEnum {
  UNCONFIRMED = 'UNCONFIRMED',
  PENDING = 'PENDING',
  COMPLETED = 'COMPLETED',
  PARTIALLY_COMPLETED = 'PARTIALLY_COMPLETED',
  FAILED = 'FAILED',
}
registerEnumType(UploadJobStatusEnum, {
  name: 'UploadJobStatus',
  description:
    'Where an upload or delete job is: UNCONFIRMED or PENDING while open, then COMPLETED, PARTIALLY_COMPLETED or FAILED once settled (a settled job never changes again).',
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

  @Field(() => String, {
    description:
      "KDMS's error code (e.g. IMEI_EXIST_IN_DIFFERENT_ACCOUNT), or Fleetgraph's: NOT_REGISTERED or STILL_REGISTERED when a read of KDMS settled the job, NOT_REPORTED when KDMS's callback left the device out, UNKNOWN when it gave no code.",
  })
  code: string;

  @Field(() => String, {
    description:
      "KDMS's explanation of the failure as it sent it (possibly empty), or Fleetgraph's with Fleetgraph's codes.",
  })
  message: string;
}

@Directive('@key(fields: "id")')
@ObjectType({ description: 'An asynchronous upload or delete of devices in KDMS.', implements: Node })
export class UploadJob implements Node {
  @Field(() => ID, {
    description:
      "Fleetgraph's id for the job (a UUID), made when it is recorded, before KDMS is called; globally unique, so node(id) finds the job by it too. (Jobs recorded by earlier versions carry KDMS's uploadId here; uploadJob(id) finds a job by either.)",
  })
  id: string;

  @Field(() => ID, {
    nullable: true,
    description: "KDMS's id for the operation (its uploadId); null while the job is UNCONFIRMED.",
  })
  uploadId: string | null;

  @Field(() => String, { nullable: true, description: 'The idempotency key the job was submitted with.' })
  idempotencyKey: string | null;

  @Field(() => UploadJobOperationEnum, {
    description: 'Whether the job uploads devices to KDMS or deletes them.',
  })
  operation: UploadJobOperationEnum;

  @Field(() => UploadJobStatusEnum, {
    description: 'Where the job is now; uploadJobChanged sends every change.',
  })
  status: UploadJobStatusEnum;

  @Field(() => [TargetServiceEnum], {
    description: 'The Knox services the job names, as submitted (each once).',
  })
  targetServices: TargetServiceEnum[];

  @Field(() => Int, { description: 'Distinct devices submitted.' })
  requested: number;

  @Field(() => [String], { description: 'Identifiers given more than once; each was submitted once.' })
  duplicates: string[];

  @Field(() => Int, { nullable: true, description: 'Devices that succeeded; null until the job settles.' })
  succeeded: number | null;

  @Field(() => Int, { nullable: true, description: 'Devices that failed; null until the job settles.' })
  failed: number | null;

  @Field(() => [DeviceFailure], {
    description:
      'One entry per device KDMS refused, with its reason. Empty while the job is open and when every device succeeded.',
  })
  failures: DeviceFailure[];

  @Field(() => UploadJobSettlementEnum, { nullable: true, description: 'Null until the job settles.' })
  settledBy: UploadJobSettlementEnum | null;

  @Field(() => DateTimeResolver, {
    description: 'When Fleetgraph recorded the job, just before calling KDMS.',
  })
  submittedAt: string;

  @Field(() => DateTimeResolver, {
    nullable: true,
    description:
      "When the job settled: the time of KDMS's callback event, or when Fleetgraph read KDMS. Null until the job settles.",
  })
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

  @Field(() => [TargetServiceEnum], {
    defaultValue: [TargetServiceEnum.KAI],
    description:
      'The Knox services to register the devices for (upload) or remove them from (delete); at least one. KAI when left out.',
  })
  targetServices: TargetServiceEnum[];

  @Field(() => String, {
    nullable: true,
    description:
      'Your key for this batch (1 to 200 printable characters, e.g. a UUID). Sending the same batch again with the same key returns the job the first call made and sends nothing to KDMS, even when the first answer never reached you; the same key with another batch is refused. Keys are per caller.',
  })
  idempotencyKey?: string | null;
}
