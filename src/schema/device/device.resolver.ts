import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Info,
  Mutation,
  Query,
  Resolver,
  Root,
  Authorized,
  Int,
} from 'type-graphql';
import { SCOPES } from '../../domain/scopes.js';
import { deviceIdOf, parseDeviceId } from '../../domain/device-ref.js';
import type { DeviceLookup, DeviceRef } from '../../domain/device-ref.js';
import { platformCodeOf } from '../../domain/managed-device-codes.js';
import type { DevicePlatform } from '../../domain/managed-device-codes.js';
import type {
  DeviceApp,
  DeviceRegistration,
  ManagedDevice,
  DeviceAccess,
  Upstream,
} from '../../domain/fleet.js';
import { firstKnown } from '../../loaders/partial.js';
import { FleetIndexUnavailableError } from '../../loaders/device-listing.js';
import { App } from '../app/app.type.js';
import { UpstreamEnum } from '../common/enums.js';
import { pageInfoOf } from '../common/page-info.type.js';
import { PagingArgs, checkedFirst } from '../common/paging.args.js';
import { selectedFieldNames } from '../common/selection.js';
import type { GraphContext } from '../context.js';
import { badUserInput, notFound } from '../errors.js';
import { User } from '../user/user.type.js';
import type { UserRef } from '../user/user.type.js';
import {
  DeviceAccessInput,
  DeviceConnection,
  DeviceFilterInput,
  DeviceOrder,
  FleetSummary,
} from './device.connection.js';
import type { DeviceIndexFilter } from '../../fleet-index/fleet-index.js';
import type { FleetSummaryValue } from '../context.js';
import { DateTimeResolver } from 'graphql-scalars';
import { BoxDevice, Device, KdmsRegistration, ManagedDevice as ManagedDeviceType } from './device.type.js';

export interface DeviceConnectionValue {
  edges: Array<{ cursor: string; node: DeviceRef }>;
  pageInfo: ReturnType<typeof pageInfoOf>;
  /** Absent where the listing cannot count (the live listing): totalCount is then an error. */
  totalCount?: () => Promise<number>;
}

/**
 * The GraphQL filter in the index's terms: explicit nulls mean "not given", dates travel as ISO text and
 * a platform as the Knox Manage code the index holds.
 */
export function indexFilterOf(filter: DeviceFilterInput | undefined): DeviceIndexFilter {
  const given = Object.entries(filter ?? {}).filter(([, v]) => v !== undefined && v !== null);
  const out: Record<string, unknown> = Object.fromEntries(given);
  if (out.notSeenSince instanceof Date) out.notSeenSince = out.notSeenSince.toISOString();
  if (typeof out.platform === 'string') {
    const code = platformCodeOf(out.platform as DevicePlatform);
    if (code === null)
      throw badUserInput(
        `filter.platform ${out.platform} names no single Knox Manage platform code: filter by ANDROID, IOS or WINDOWS`,
        { argument: 'filter.platform' },
      );
    out.platform = code;
  }
  return out as DeviceIndexFilter;
}

/**
 * One device, read live like `device(...)`: the records the selection will need (`info`, through
 * fragments, as under `node`) are read alongside KDMS's.
 */
export function findDevice(
  loaders: GraphContext['loaders'],
  lookup: DeviceLookup,
  info: GraphQLResolveInfo,
  onTypes?: readonly string[],
): Promise<DeviceRef | null> {
  const wanted = selectedFieldNames(info, onTypes);
  return loaders.findDevice(lookup, {
    management:
      wanted.has('management') || wanted.has('users') || wanted.has('sources') || wanted.has('model'),
    access: wanted.has('access') || wanted.has('apps') || wanted.has('users') || wanted.has('sources'),
  });
}

/** Exactly one of id, imei or serialNumber. */
export function lookupOf(args: {
  id?: string | null;
  imei?: string | null;
  serialNumber?: string | null;
}): DeviceLookup {
  const given = (['id', 'imei', 'serialNumber'] as const).filter(
    (k) => args[k] !== undefined && args[k] !== null,
  );
  if (given.length !== 1) throw badUserInput('Give exactly one of id, imei or serialNumber', { given });
  if (args.id) {
    const lookup = parseDeviceId(args.id);
    if (!lookup) throw badUserInput(`"${args.id}" is not a device id`, { argument: 'id' });
    return lookup;
  }
  return args.imei ? { imei: args.imei } : { serialNumber: args.serialNumber! };
}

@Resolver(() => Device)
export class DeviceResolver {
  @Authorized(SCOPES.read)
  @Query(() => Device, {
    nullable: true,
    description:
      'One device by exactly one of its id, IMEI or serial number, read live from the three APIs. Null when none of them knows it; BAD_USER_INPUT unless exactly one argument is given.',
  })
  device(
    @Ctx() { loaders }: GraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('id', () => ID, { nullable: true, description: 'Device.id, as an earlier answer gave it.' })
    id?: string,
    @Arg('imei', () => String, { nullable: true, description: "The device's IMEI (15 digits)." })
    imei?: string,
    @Arg('serialNumber', () => String, {
      nullable: true,
      description: "The manufacturer's serial number, as KDMS, Knox Manage or Box records it.",
    })
    serialNumber?: string,
  ): Promise<DeviceRef | null> {
    return findDevice(loaders, lookupOf({ id, imei, serialNumber }), info);
  }

  @Authorized(SCOPES.read)
  @Query(() => DeviceConnection, {
    nullable: true,
    description:
      'Every device of every API, each once, narrowed by `filter` and sorted by `orderBy`: read from the fleet index once it is synced (no upstream list call). Without the index the listing walks the APIs; it is then null, with the error, when one of them fails.',
  })
  async devices(
    @Ctx() { listings }: GraphContext,
    @Args(() => PagingArgs) { first, after }: PagingArgs,
    @Arg('filter', () => DeviceFilterInput, {
      nullable: true,
      description: 'Which devices to list; every device of every API when left out.',
    })
    filter?: DeviceFilterInput,
    @Arg('orderBy', () => DeviceOrder, {
      nullable: true,
      description: "Default: by device id with the fleet index; the APIs' own order without it.",
    })
    orderBy?: DeviceOrder,
  ): Promise<DeviceConnectionValue> {
    const page = await listings.devices({
      first: checkedFirst(first),
      after: after ?? null,
      filter: indexFilterOf(filter),
      ...(orderBy ? { orderBy: { field: orderBy.field, direction: orderBy.direction } } : {}),
    });
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: e.ref })),
      pageInfo: pageInfoOf(
        page.edges.map((e) => e.cursor),
        page.hasNextPage,
      ),
      ...(page.totalCount ? { totalCount: page.totalCount } : {}),
    };
  }

  @Authorized(SCOPES.read)
  @Query(() => FleetSummary, {
    description:
      'Counts by source, Knox Manage status and model over the devices `filter` selects, from the fleet index (FLEET_INDEX_UNAVAILABLE while it is off or not yet synced).',
  })
  fleetSummary(
    @Ctx() { listings }: GraphContext,
    @Arg('filter', () => DeviceFilterInput, {
      nullable: true,
      description: 'Which devices to count; the whole fleet when left out.',
    })
    filter?: DeviceFilterInput,
  ): Promise<FleetSummaryValue> {
    return listings.fleetSummary(indexFilterOf(filter));
  }

  @Authorized(SCOPES.write)
  @Mutation(() => Device, {
    description:
      'Rename a device, block or allow its logins, or have its apps purge their data (Box device/update).',
  })
  async updateDeviceAccess(
    @Ctx() { loaders, writes }: GraphContext,
    @Arg('id', () => ID, { description: 'Device.id of the device to change.' }) id: string,
    @Arg('input', () => DeviceAccessInput, {
      description: 'What to change; at least one field. Fields left out stay as they are.',
    })
    input: DeviceAccessInput,
  ): Promise<DeviceRef> {
    const lookup = parseDeviceId(id);
    if (!lookup) throw badUserInput(`"${id}" is not a device id`, { argument: 'id' });
    if (input.name !== undefined && input.name !== null && input.name.trim() === '')
      throw badUserInput('name must not be empty', { argument: 'input.name' });
    const change = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
    if (Object.keys(change).length === 0)
      throw badUserInput('input changes nothing: give name, loginBlocked or purgeAppDataOnNextLogin');
    const ref: DeviceRef =
      'imei' in lookup
        ? { imei: lookup.imei, serialNumber: null }
        : { imei: null, serialNumber: lookup.serialNumber };
    const access = await writes.updateDeviceAccess(ref, change);
    if (!access) throw notFound(`Box does not know device ${id}`, { upstream: 'BOX' });
    loaders.primeAccess(access);
    return { ...ref, access };
  }

  // The id and IMEI are what the caller named the device by: no scope needed to see them again.
  @FieldResolver(() => ID)
  id(@Root() device: DeviceRef): string {
    return deviceIdOf(device);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => DateTimeResolver, {
    nullable: true,
    description:
      'When the fleet index last refreshed the records this device was served from; null when they were read live from the APIs.',
  })
  syncedAt(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return loaders.syncedAt(device);
  }

  @FieldResolver(() => String, { nullable: true })
  imei(@Root() device: DeviceRef): string | null {
    return device.imei ?? device.registration?.imei ?? device.managed?.imei ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  async serialNumber(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    if (device.serialNumber) return device.serialNumber;
    const known = device.registration?.serialNumber ?? device.managed?.serialNumber;
    if (known) return known;
    // Only Knox Manage may know the serial of a device listed by IMEI elsewhere.
    return device.managed === undefined ? ((await loaders.management(device))?.serialNumber ?? null) : null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  secondaryImei(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return firstKnown(
      async () => (await loaders.registration(device))?.secondaryImei,
      () => Promise.resolve(device.managed?.secondaryImei),
    );
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  async meid(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    return (await loaders.registration(device))?.meid ?? null;
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => String, { nullable: true })
  model(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<string | null> {
    // KDMS's model first; Knox Manage's when KDMS has none or could not answer.
    return firstKnown(
      async () => (await loaders.registration(device))?.model,
      async () => (await loaders.management(device))?.model,
    );
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => KdmsRegistration, { nullable: true })
  registration(
    @Root() device: DeviceRef,
    @Ctx() { loaders }: GraphContext,
  ): Promise<DeviceRegistration | null> {
    return loaders.registration(device);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => ManagedDeviceType, { nullable: true })
  management(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<ManagedDevice | null> {
    return loaders.management(device);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => BoxDevice, { nullable: true })
  access(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<DeviceAccess | null> {
    return loaders.access(device);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => [App], {
    nullable: true,
    description: 'Apps that authenticated from the device (Box); empty when Box does not know it.',
  })
  apps(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<DeviceApp[]> {
    return loaders.apps(device);
  }

  @Authorized(SCOPES.read)
  @FieldResolver(() => [User], {
    nullable: true,
    description:
      'Its Knox Manage owner and the users Box saw on it, each once. Null, with the error, when either API cannot answer.',
  })
  async users(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<UserRef[]> {
    const [managed, appUsers] = await Promise.all([loaders.management(device), loaders.appUsers(device)]);
    const users = new Map<string, UserRef>();
    if (managed?.ownerUserId) users.set(managed.ownerUserId, { userId: managed.ownerUserId });
    for (const u of appUsers)
      if (!users.has(u.userId)) users.set(u.userId, { userId: u.userId, email: u.email });
    return [...users.values()];
  }

  @Authorized(SCOPES.read)
  // Type and description: Device.sources in device.type.ts.
  @FieldResolver(() => [UpstreamEnum], { nullable: true })
  async sources(@Root() device: DeviceRef, @Ctx() { loaders }: GraphContext): Promise<Upstream[]> {
    const [registration, managed, access] = await Promise.all([
      loaders.registration(device),
      loaders.management(device),
      loaders.access(device),
    ]);
    const sources: Upstream[] = [];
    if (registration) sources.push('KDMS');
    if (managed) sources.push('KNOX_MANAGE');
    if (access) sources.push('BOX');
    return sources;
  }
}

@Resolver(() => DeviceConnection)
export class DeviceConnectionResolver {
  @FieldResolver(() => Int, { nullable: true })
  totalCount(@Root() connection: DeviceConnectionValue): Promise<number> {
    if (!connection.totalCount)
      return Promise.reject(new FleetIndexUnavailableError('totalCount of this listing', false));
    return connection.totalCount();
  }
}
