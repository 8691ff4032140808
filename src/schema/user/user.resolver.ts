import {
  Arg,
  Args,
  Ctx,
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
import { User } from './user.type.js';
import type { UserRef } from './user.type.js';

const USERS: CursorBinding = { list: 'users' };

@ObjectType({ simpleResolvers: true })
class UserEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => User)
  node: User;
}

@ObjectType({ description: 'A page of users (Relay connection).', simpleResolvers: true })
export class UserConnection {
  @Field(() => [UserEdge])
  edges: UserEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int, { description: 'Users in Knox Manage.' })
  totalCount: number;
}

@ObjectType({ description: "The outcome of checking a user's password with Knox Manage." })
export class AuthenticationResult {
  @Field(() => Boolean)
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
  async user(
    @Ctx() { loaders }: GraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('userId', () => ID) userId: string,
  ): Promise<UserRef | null> {
    const exists = await loaders.userExists(userId);
    if (exists instanceof Error) {
      // Knox Manage could not say. Its fields will carry that error on their own paths (the loaders keep
      // the failure for the request); a selection of the id alone has no such field, and an answer without
      // an error would claim the user exists, so the error goes on `user` itself.
      const fields = [...selectedFieldNames(info)].filter((f) => f !== 'userId' && f !== '__typename');
      if (fields.length === 0) throw exists;
      return { userId };
    }
    return exists ? { userId } : null;
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
  @Mutation(() => AuthenticationResult, {
    description:
      "Checks a user's password with Knox Manage. The password is passed through; it is never stored, cached or logged.",
  })
  async authenticateUser(
    @Ctx() { writes }: GraphContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('password', () => String) password: string,
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
