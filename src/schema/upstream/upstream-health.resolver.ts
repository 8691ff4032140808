import { DateTimeResolver } from 'graphql-scalars';
import {
  Authorized,
  Ctx,
  Directive,
  Field,
  Int,
  ObjectType,
  Query,
  Resolver,
  registerEnumType,
} from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import { UpstreamEnum } from '../common/enums.js';
import { INTERNAL_TAG } from '../federation-directives.js';
import type { GraphContext, UpstreamHealthReport } from '../context.js';

export enum UpstreamStatusEnum {
  UP = 'UP',
  DOWN = 'DOWN',
}
registerEnumType(UpstreamStatusEnum, {
  name: 'UpstreamStatus',
  description: "The outcome of an API's health check.",
  valuesConfig: {
    UP: { description: 'The check call succeeded: the API is reachable and accepts Fleetgraph credentials.' },
    DOWN: {
      description: 'The check call failed (unreachable, credentials refused, an error); message says why.',
    },
  },
});

@Directive(INTERNAL_TAG)
@ObjectType({
  description:
    "The fleet index's copy of what an API lists whole (Knox Manage: devices and users; Box: devices; KDMS: registrations).",
  simpleResolvers: true,
})
export class UpstreamSync {
  @Field(() => Int, { description: 'Records the index holds from this API.' })
  records: number;

  @Field(() => DateTimeResolver, {
    nullable: true,
    description: 'When its last full sync completed; null before the first.',
  })
  lastFullSyncAt: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why the last full sync failed (the index keeps serving the last good copy); null when it succeeded.',
  })
  lastError: string | null;

  @Field(() => Int, { nullable: true, description: 'Progress of the full sync running now, in percent.' })
  inProgressPercent: number | null;
}

@Directive(INTERNAL_TAG)
@ObjectType({
  description: 'Whether Fleetgraph can reach an API with its credentials right now.',
  simpleResolvers: true,
})
export class UpstreamHealth {
  @Field(() => UpstreamEnum, { description: 'The API checked.' })
  upstream: UpstreamEnum;

  @Field(() => UpstreamStatusEnum, { description: 'Whether the check call succeeded.' })
  status: UpstreamStatusEnum;

  @Field(() => Int, { description: 'How long the check call took, in milliseconds.' })
  latencyMs: number;

  @Field(() => String, {
    nullable: true,
    description: "Why it is DOWN: the failure's message. Null when UP.",
  })
  message: string | null;

  @Field(() => UpstreamSync, {
    nullable: true,
    description: 'Fleet index sync state; null when the index is off.',
  })
  sync: UpstreamSync | null;
}

@Resolver()
export class UpstreamHealthResolver {
  @Authorized(SCOPES.read)
  @Directive(INTERNAL_TAG)
  @Query(() => [UpstreamHealth], {
    description:
      'Checks each API now with one cheap authenticated call (KDMS getDevices of one, a Knox Manage user read, a Box device read), and reports the fleet index sync state of each.',
  })
  upstreams(@Ctx() { health }: GraphContext): Promise<UpstreamHealthReport[]> {
    return health();
  }
}
