import { Ctx, Field, Int, ObjectType, Query, Resolver, registerEnumType, Authorized } from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import { UpstreamEnum } from '../common/enums.js';
import type { GraphContext, UpstreamHealthReport } from '../context.js';

export enum UpstreamStatusEnum {
  UP = 'UP',
  DOWN = 'DOWN',
}
registerEnumType(UpstreamStatusEnum, { name: 'UpstreamStatus' });

@ObjectType({
  description: 'Whether Fleetgraph can reach an API with its credentials right now.',
  simpleResolvers: true,
})
export class UpstreamHealth {
  @Field(() => UpstreamEnum)
  upstream: UpstreamEnum;

  @Field(() => UpstreamStatusEnum)
  status: UpstreamStatusEnum;

  @Field(() => Int, { description: 'How long the check took.' })
  latencyMs: number;

  @Field(() => String, { nullable: true, description: 'Why it is down.' })
  message: string | null;
}

@Resolver()
export class UpstreamHealthResolver {
  @Authorized(SCOPES.read)
  @Query(() => [UpstreamHealth], { description: 'Checks each API with one cheap authenticated call.' })
  upstreams(@Ctx() { health }: GraphContext): Promise<UpstreamHealthReport[]> {
    return health();
  }
}
