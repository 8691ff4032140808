import {
  Arg,
  Args,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  Info,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
  Authorized,
} from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { SCOPES } from '../../domain/scopes.js';
import { refFromManaged } from '../../domain/device-ref.js';
import { userNodeIdOf } from '../../domain/node-id.js';
import type { FleetUser } from '../../domain/fleet.js';
import { decodeOffsetCursor, encodeOffsetCursor } from '../../loaders/cursor.js';
import type { CursorBinding } from '../../loaders/cursor.js';
import { PageInfo, pageInfoOf } from '../common/page-info.type.js';
import { PagingArgs, checkedFirst } from '../common/paging.args.js';
import { selectedFieldNames } from '../common/selection.js';
import type { GraphContext } from '../context.js';
import { DeviceConnection } from '../device/device.connection.js';
import type { DeviceConnectionValue } from '../device/device.resolver.js';
import { badUserInput } from '../errors.js';
import { INTERNAL_TAG } from '../federation-directives.js';
import { User } from './user.type.js';
import type { UserRef } from './user.type.js';

const USERS: CursorBinding = { list: 'users' };

/** Fields a selection may ask for without Knox Manage: what the caller already named the user by. */
const NAMED_BY_CALLER = new Set(['id', 'userId', '__typename']);

/**
 * A Knox Manage user as `user(userId)` and `node(id)` find one: null when Knox Manage does not know the
 * user. When Knox Manage could not say, its fields carry that error on their own paths (the loaders keep
 * the failure for the request); a selection of the ids alone has no such field, and an answer without an
 * error would claim the user exists, so the error goes on the user itself.
 */
export async function findUser(
  loaders: GraphContext['loaders'],
  userId: string,
  info: GraphQLResolveInfo,
  onTypes?: readonly string[],
): Promise<UserRef | null> {
  const exists = await loaders.userExists(userId);
  if (exists instanceof Error) {
    if ([...selectedFieldNames(info, onTypes)].every((f) => NAMED_BY_CALLER.has(f))) throw exists;
    return { userId };
  }
  return exists ? { userId } : null;
}

@ObjectType({
  description: 'One user of a page, with the cursor that pages on after it.',
  simpleResolvers: true,
})
class UserEdge {
  @Field(() => String, {
    description: 'Opaque; pass it as `after` to list the users after this one.',
  })
  cursor: string;

  @Field(() => User, { description: 'The user at this position of the listing.' })
  node: User;
}

@ObjectType({ description: 'A page of users (Relay connection).', simpleResolvers: true })
export class UserConnection {
  @Field(() => [UserEdge], { description: "The users of this page, in Knox Manage's order." })
  edges: UserEdge[];

  @Field(() => PageInfo, { description: 'Whether more users follow, and the cursor to ask for them with.' })
  pageInfo: PageInfo;

  @Field(() => Int, {
    description: 'How many users Knox Manage holds (all pages), as its user list reports them.',
  })
  totalCount: number;
}

@Directive(INTERNAL_TAG)
@ObjectType({ description: "The outcome of checking a user's password with Knox Manage." })
export class AuthenticationResult {
  @Field(() => Boolean, {
    description: 'True when Knox Manage accepted the user id and password (auth/authenticate).',
  })
  authenticated: boolean;

  @Field(() => User, { nullable: true, description: 'The user, when authenticated.' })
  user: UserRef | null;

  @Field(() => String, { nullable: true, description: "Knox Manage's reason when not authenticated." })
  message: string | null;
}

@Resolver(() => User)
export class UserResolver {
  @Authorized(SCOPES.read)
  @Query(() => User, {
    nullable: true,
    description:
      'A Knox Manage user. When Knox Manage cannot answer, the user asked for is returned with the error on each field Knox Manage holds.',
  })
  user(
    @Ctx() { loaders }: GraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('userId', () => ID, { description: "Knox Manage's user id (User.userId)." }) userId: string,
  ): Promise<UserRef | null> {
    return findUser(loaders, userId, info);
  }

  @Authorized(SCOPES.read)
  @Query(() => UserConnection, {
    nullable: true,
    description: 'Knox Manage users, in its order. Null, with the error, when Knox Manage cannot answer.',
  })
  async users(@Ctx() { listings }: GraphContext, @Args(() => PagingArgs) { first, after }: PagingArgs) {
    const start = decodeOffsetCursor(after, USERS);
    const limit = checkedFirst(first);
    const page = limit === 0 ? { items: [], total: 0 } : await listings.users(start, limit);
    const edges = page.items.map((u: FleetUser, i: number) => ({
      cursor: encodeOffsetCursor(start + i + 1, USERS),
      node: { userId: u.userId },
    }));
    return {
      edges,
      pageInfo: pageInfoOf(
        edges.map((e) => e.cursor),
        start + page.items.length < (page.total ?? 0),
      ),
      totalCount: page.total,
    };
  }

  @Authorized(SCOPES.authenticateUsers)
  @Directive(INTERNAL_TAG)
  @Mutation(() => AuthenticationResult, {
    description:
      "Checks a user's password with Knox Manage. The password is passed through; it is never stored, cached or logged.",
  })
  async authenticateUser(
    @Ctx() { writes }: GraphContext,
    @Arg('userId', () => ID, { description: "Knox Manage's user id (User.userId)." }) userId: string,
    @Arg('password', () => String, {
      description:
        "The user's Knox Manage password, passed straight to Knox Manage; never stored, cached or logged.",
    })
    password: string,
  ): Promise<AuthenticationResult> {
    const outcome = await writes.authenticateUser(userId, password);
    if (outcome.kind === 'INVALID_INPUT')
      throw badUserInput(`Knox Manage refused the input: ${outcome.message}`, {
        upstream: 'KNOX_MANAGE',
        ...(outcome.code ? { upstreamCode: outcome.code } : {}),
      });
    if (outcome.kind === 'REJECTED') return { authenticated: false, user: null, message: outcome.message };
    return {
      authenticated: true,
      user: { userId: outcome.user.userId, email: outcome.user.email },
      message: null,
    };
  }

  // Derived from userId, which needs no scope either: what the caller named the user by.
  @FieldResolver(() => ID)
  id(@Root() user: UserRef): string {
    return userNodeIdOf(user.userId);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  async name(@Root() user: UserRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return (await loaders.user(user.userId))?.name ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  async email(@Root() user: UserRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return (await loaders.user(user.userId))?.email ?? user.email ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => Boolean, { nullable: true })
  async active(@Root() user: UserRef, @Ctx() { loaders }: GraphContext): Promise<boolean | null> {
    return (await loaders.user(user.userId))?.active ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  async organization(@Root() user: UserRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return (await loaders.user(user.userId))?.organization ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => DeviceConnection, {
    nullable: true,
    description: 'Devices Knox Manage assigns to the user.',
  })
  async devices(
    @Root() user: UserRef,
    @Ctx() { loaders }: GraphContext,
    @Args(() => PagingArgs) { first, after }: PagingArgs,
  ): Promise<DeviceConnectionValue> {
    const binding: CursorBinding = { list: 'User.devices', scope: { kind: 'user', value: user.userId } };
    const start = decodeOffsetCursor(after, binding);
    const limit = checkedFirst(first);
    const managed = await loaders.devicesOfUser(user.userId);
    const slice = managed.slice(start, start + limit);
    const edges = slice.map((m, i) => ({
      cursor: encodeOffsetCursor(start + i + 1, binding),
      node: refFromManaged(m),
    }));
    return {
      edges,
      pageInfo: pageInfoOf(
        edges.map((e) => e.cursor),
        start + slice.length < managed.length,
      ),
      totalCount: () => Promise.resolve(managed.length),
    };
  }
}
