import DataLoader from 'dataloader';
import { identifiersOf, refFromAccess, refFromManaged, refFromRegistration } from '../domain/device-ref.js';
import type { DeviceLookup, DeviceRef } from '../domain/device-ref.js';
import type {
  DeviceAccess,
  DeviceApp,
  DeviceAppUser,
  DeviceRegistration,
  FleetUser,
  ManagedDevice,
} from '../domain/fleet.js';
import type { BoxClient } from '../upstreams/box/box.client.js';
import type { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KDMS_MAX_IDS_PER_GET, KDMS_MAX_PAGE_SIZE } from '../upstreams/kdms/kdms.wire.js';
import type { KnoxManageClient } from '../upstreams/knox-manage/knox-manage.client.js';
import {
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_MAX_USER_IDS_PER_READ,
} from '../upstreams/knox-manage/knox-manage.wire.js';
import { UpstreamError } from '../upstreams/errors.js';
import type { FleetIndexRuntime } from '../fleet-index/fleet-index-runtime.js';
import type { FleetIndex, IndexedRecord } from '../fleet-index/fleet-index.js';
import { traceBatch } from '../observability/tracing.js';
import { mapSettled } from './concurrency.js';
import { asError, settle } from './partial.js';
import type { Settled } from './partial.js';
import { DEVICE_KEYS } from './upstream-reads.js';
import type { BoxDeviceIndex, KnoxManageDeviceIndex, UpstreamReads } from './upstream-reads.js';

/**
 * Every loader one request needs (per request: DataLoader caches must not leak between callers).
 * Each batch function picks the cheapest upstream plan for the keys it got:
 * - KDMS `getDevices` takes up to 1,000 ids: one call per batch.
 * - Knox Manage and Box have per-device reads and whole-list reads: for a few keys, concurrent
 *   per-device reads; for more keys than a full list costs in calls, one (shared, cached) list read.
 * - Box apps and device users exist only per device (`listapps`, `listusers`): one call per device,
 *   concurrently, which is the minimum that API allows.
 */
export interface UpstreamServices {
  kdms: KdmsClient;
  knoxManage: KnoxManageClient;
  box: BoxClient;
  reads: UpstreamReads;
  /** The synced fleet index; absent with FLEET_INDEX=off. */
  fleetIndex?: FleetIndexRuntime;
}

export interface LoaderOptions {
  /** Off = the naive baseline of the benchmark: one upstream call per key, no planner, no caching. */
  batching: boolean;
  /** Called with each batch's size (the loader batch size metric). */
  onBatch?: (loader: string, size: number) => void;
}

/** Concurrent per-device reads against one upstream from one request. */
const PER_DEVICE_CONCURRENCY = 16;
/** Box's list returns the whole fleet: read it when more than this many devices are wanted. */
const BOX_PER_DEVICE_READ_LIMIT = 2;

export type Loaders = ReturnType<typeof createLoaders>;

export function createLoaders(services: UpstreamServices, options: LoaderOptions = { batching: true }) {
  const { kdms, knoxManage, box, reads, fleetIndex } = services;
  const batching = options.batching;
  /** Joins read the index once it is synced; `device(...)` by one identifier (a live ref) never does. */
  const fromIndex = (ref?: DeviceRef): boolean => Boolean(fleetIndex?.usable) && !ref?.live;
  /** A record read live replaces its index entry at once (or removes it, when the API no longer knows it). */
  const refreshed = <T>(
    read: (id: string) => Promise<T | null>,
    put: (record: T) => (index: FleetIndex) => Promise<void>,
    remove: (id: string) => (index: FleetIndex) => Promise<void>,
  ) =>
    fleetIndex
      ? async (id: string): Promise<T | null> => {
          const record = await read(id);
          await fleetIndex.refresh('live read', record ? put(record) : remove(id));
          return record;
        }
      : read;
  /**
   * A DataLoader whose batch sizes are reported (the loader batch size metric) and, in a traced request,
   * each batch is a span that the upstream calls it makes go under.
   */
  const loader = <V>(name: string, batch: DataLoader.BatchLoadFn<string, V>, maxBatchSize: number) =>
    new DataLoader<string, V>(
      (keys) => {
        options.onBatch?.(name, keys.length);
        // Per-key failure is data: a failed upstream call fails each key of its batch, and DataLoader keeps
        // that outcome for the rest of the request. (A rejected batch is forgotten, so every later field
        // would ask the failing API again, and get the same error again.)
        return traceBatch(name, keys.length, () =>
          Promise.resolve(batch(keys)).catch((error: unknown) => keys.map(() => asError(error))),
        );
      },
      batching ? { maxBatchSize } : { maxBatchSize: 1, cache: false },
    );

  // One read of each whole collection per request, even when the read cache is off.
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    if (!memo.has(key)) memo.set(key, load());
    return memo.get(key) as Promise<T>;
  };
  const knoxManageIndex = () => once<KnoxManageDeviceIndex>('km:devices', () => reads.knoxManageDevices());
  const boxIndex = () => once<BoxDeviceIndex>('box:devices', () => reads.boxDevices());
  const userIndex = () => once<Map<string, FleetUser>>('km:users', () => reads.knoxManageUsers());

  const registrationByIdentifier = loader<DeviceRegistration | null>(
    'registrationByIdentifier',
    async (ids) => {
      const page = await kdms.getDevices({ deviceIds: [...ids], pageSize: KDMS_MAX_PAGE_SIZE });
      const byId = new Map<string, DeviceRegistration>();
      for (const r of page.registrations)
        for (const id of [r.imei, r.secondaryImei, r.serialNumber]) if (id) byId.set(id, r);
      return ids.map((id) => byId.get(id) ?? null);
    },
    KDMS_MAX_IDS_PER_GET,
  ); // getDevices filters by at most this many ids

  const managedLoader = (
    key: 'byImei' | 'bySerial',
    readOne: (id: string) => Promise<ManagedDevice | null>,
  ) =>
    loader<ManagedDevice | null>(
      `managedDevice-${key}`,
      async (ids) => {
        // A list this request already read answers any number of keys for free.
        // Once the fleet index is synced, no request reads a whole list (live refs read per device).
        const listAllowed = batching && !fleetIndex?.usable;
        if (listAllowed && (ids.length > reads.knoxManageListCost || memo.has('km:devices'))) {
          const index = await knoxManageIndex();
          return ids.map((id) => index[key].get(id) ?? null);
        }
        return mapSettled(ids, PER_DEVICE_CONCURRENCY, readOne);
      },
      Number.MAX_SAFE_INTEGER,
    );
  // Single-device reads are cached across requests for seconds (READ_CACHE_TTL_MS) but made with this
  // request's clients: the caller's budget pays for them and its abort signal cancels them.
  const putManaged = (record: ManagedDevice) => (index: FleetIndex) => index.putManaged(record);
  const removeManaged = (id: string) => (index: FleetIndex) => index.removeManaged(id);
  const managedByImei = managedLoader(
    'byImei',
    refreshed(
      (imei) =>
        batching
          ? reads.device(DEVICE_KEYS.knoxManageByImei, imei, 1, (id) => knoxManage.selectDeviceInfoByImei(id))
          : knoxManage.selectDeviceInfoByImei(imei),
      putManaged,
      removeManaged,
    ),
  );
  const managedBySerial = managedLoader(
    'bySerial',
    refreshed(
      (serial) =>
        batching
          ? reads.device(DEVICE_KEYS.knoxManageBySerial, serial, 1, (id) =>
              knoxManage.selectDeviceInfoBySerialNumber(id),
            )
          : knoxManage.selectDeviceInfoBySerialNumber(serial),
      putManaged,
      removeManaged,
    ),
  );
  /** Knox Manage and Box records from the fleet index: one query a batch, no upstream call. */
  const indexedManaged = (kind: 'imei' | 'serial') =>
    loader<IndexedRecord<ManagedDevice> | null>(
      `indexedManaged-${kind}`,
      async (ids) => {
        const found = await fleetIndex!.index.managedBy(kind, ids);
        return ids.map((id) => found.get(id) ?? null);
      },
      Number.MAX_SAFE_INTEGER,
    );
  const indexedManagedByImei = indexedManaged('imei');
  const indexedManagedBySerial = indexedManaged('serial');
  const indexedAccess = loader<IndexedRecord<DeviceAccess> | null>(
    'indexedAccess',
    async (cuids) => {
      const found = await fleetIndex!.index.accessBy(cuids);
      return cuids.map((cuid) => found.get(cuid) ?? null);
    },
    Number.MAX_SAFE_INTEGER,
  );

  const readAccess = refreshed(
    (cuid) =>
      batching
        ? reads.device(DEVICE_KEYS.boxDevice, cuid, 1, (id) => box.readDevice(id))
        : box.readDevice(cuid),
    (record: DeviceAccess) => (index) => index.putAccess(record),
    (cuid) => (index) => index.removeAccess(cuid),
  );
  const accessByCuid = loader<DeviceAccess | null>(
    'accessByCuid',
    async (cuids) => {
      const listAllowed = batching && !fleetIndex?.usable;
      if (listAllowed && (cuids.length > BOX_PER_DEVICE_READ_LIMIT || memo.has('box:devices'))) {
        const index = await boxIndex();
        return cuids.map((cuid) => index.byCuid.get(cuid) ?? null);
      }
      return mapSettled(cuids, PER_DEVICE_CONCURRENCY, readAccess);
    },
    Number.MAX_SAFE_INTEGER,
  );

  const appsByCuid = loader<DeviceApp[] | null>(
    'appsByCuid',
    (cuids) =>
      batching
        ? reads.boxAppsOf(cuids, PER_DEVICE_CONCURRENCY, box)
        : mapSettled(cuids, 1, (cuid) => box.listApps(cuid)),
    Number.MAX_SAFE_INTEGER,
  );
  const appUsersByCuid = loader<DeviceAppUser[] | null>(
    'appUsersByCuid',
    (cuids) =>
      batching
        ? reads.boxUsersOf(cuids, PER_DEVICE_CONCURRENCY, box)
        : mapSettled(cuids, 1, (cuid) => box.listUsers(cuid)),
    Number.MAX_SAFE_INTEGER,
  );

  /** Users by id: one `selectUsers` with `extraCondition.userIds` per batch, or the list this request read. */
  const userById = loader<FleetUser | null>(
    'userById',
    async (userIds) => {
      if (fromIndex()) {
        const users = await fleetIndex!.index.usersBy(userIds);
        return userIds.map((id) => users.get(id) ?? null);
      }
      if (batching) {
        const users = memo.has('km:users')
          ? await userIndex()
          : new Map((await knoxManage.selectUsers({ userIds })).items.map((u) => [u.userId, u]));
        return userIds.map((id) => users.get(id) ?? null);
      }
      return mapSettled(userIds, 1, (id) => knoxManage.selectUserWithId(id));
    },
    KNOX_MANAGE_MAX_USER_IDS_PER_READ,
  );

  /** A user's devices: selectDeviceList filtered by owner (one call a user), or the list this request read. */
  const managedByUser = loader<ManagedDevice[]>(
    'managedDevicesByUser',
    async (userIds) => {
      if (fromIndex()) {
        const owned = await fleetIndex!.index.managedByOwner(userIds);
        return userIds.map((id) => owned.get(id) ?? []);
      }
      if (batching && (userIds.length > reads.knoxManageListCost || memo.has('km:devices'))) {
        const index = await knoxManageIndex();
        return userIds.map((id) => index.byUser.get(id) ?? []);
      }
      return mapSettled(userIds, PER_DEVICE_CONCURRENCY, async (userId) => {
        const page = await knoxManage.selectDeviceList({ userId, limit: KNOX_MANAGE_MAX_LIMIT });
        return page.items;
      });
    },
    Number.MAX_SAFE_INTEGER,
  );

  /** Tries each identifier in turn (IMEI, then serial number) until one loader finds the record. */
  const firstFound = async <T>(ids: string[], load: (id: string) => Promise<T | null>): Promise<T | null> => {
    for (const id of ids) {
      const found = await load(id);
      if (found) return found;
    }
    return null;
  };

  const indexedManagement = (ref: DeviceRef) =>
    firstFound(identifiersOf(ref), (id) =>
      ref.imei === id ? indexedManagedByImei.load(id) : indexedManagedBySerial.load(id),
    );
  const indexedAccessOf = (ref: DeviceRef) =>
    firstFound(identifiersOf(ref), (cuid) => indexedAccess.load(cuid));

  const loaders = {
    registration(ref: DeviceRef): Promise<DeviceRegistration | null> {
      if (ref.registration !== undefined) return Promise.resolve(ref.registration);
      if (ref.unavailable?.registration) return Promise.reject(ref.unavailable.registration);
      // Both identifiers ride in the same getDevices batch: no extra call for the fallback.
      return registrationByIdentifier.loadMany(identifiersOf(ref)).then((found) => {
        const error = found.find((f): f is Error => f instanceof Error);
        if (error) throw error;
        return (found.find((f) => f !== null) as DeviceRegistration | undefined) ?? null;
      });
    },

    management(ref: DeviceRef): Promise<ManagedDevice | null> {
      if (ref.managed !== undefined) return Promise.resolve(ref.managed);
      if (ref.unavailable?.managed) return Promise.reject(ref.unavailable.managed);
      if (fromIndex(ref)) return indexedManagement(ref).then((found) => found?.record ?? null);
      return firstFound(identifiersOf(ref), async (id) =>
        ref.imei === id ? managedByImei.load(id) : managedBySerial.load(id),
      );
    },

    access(ref: DeviceRef): Promise<DeviceAccess | null> {
      if (ref.access !== undefined) return Promise.resolve(ref.access);
      if (ref.unavailable?.access) return Promise.reject(ref.unavailable.access);
      if (fromIndex(ref)) return indexedAccessOf(ref).then((found) => found?.record ?? null);
      return firstFound(identifiersOf(ref), (cuid) => accessByCuid.load(cuid));
    },

    /**
     * When the fleet index last refreshed what this device is served from: its listing's row, or the
     * index records a join read. Null when the device was read live.
     */
    async syncedAt(ref: DeviceRef): Promise<string | null> {
      if (ref.syncedAt !== undefined) return ref.syncedAt;
      if (!fromIndex(ref)) return null;
      const [managed, access] = await Promise.all([indexedManagement(ref), indexedAccessOf(ref)]);
      const times = [managed?.syncedAt, access?.syncedAt].filter((t): t is string => Boolean(t)).sort();
      return times[0] ?? null;
    },

    async apps(ref: DeviceRef): Promise<DeviceApp[]> {
      const access = await loaders.access(ref);
      return access ? ((await appsByCuid.load(access.cuid)) ?? []) : [];
    },

    async appUsers(ref: DeviceRef): Promise<DeviceAppUser[]> {
      const access = await loaders.access(ref);
      return access ? ((await appUsersByCuid.load(access.cuid)) ?? []) : [];
    },

    user(userId: string): Promise<FleetUser | null> {
      return userById.load(userId);
    },

    devicesOfUser(userId: string): Promise<ManagedDevice[]> {
      return managedByUser.load(userId);
    },

    /**
     * Whether Knox Manage knows the user, or the upstream failure that kept every Knox Manage read from
     * saying. A user who owns devices exists: asked with the user's device list, which `devices` then
     * reuses; a user without devices, or whose device list failed, costs a user read.
     */
    async userExists(userId: string): Promise<boolean | UpstreamError> {
      let failure: unknown;
      if (fromIndex()) {
        // A user the index does not know may have been created since its last sync: one live read says.
        if ((await userById.load(userId)) !== null) return true;
        try {
          return (await knoxManage.selectUserWithId(userId)) !== null;
        } catch (error) {
          if (error instanceof UpstreamError) return error;
          throw error;
        }
      }
      if (batching) {
        try {
          if ((await managedByUser.load(userId)).length > 0) return true;
        } catch (error) {
          failure = error;
        }
      }
      try {
        return (await userById.load(userId)) !== null;
      } catch (error) {
        failure ??= error;
      }
      if (failure instanceof UpstreamError) return failure;
      throw failure;
    },

    /**
     * A device by one identifier. Found by any API, it is returned even when another API failed: that
     * API's failure rides on the ref (`unavailable`), so its fields carry the error and it is not asked
     * again under the device's other identifier. Null when every API answered that it does not know the
     * device; when none found it and one could not answer, whether it exists is unknown: that is thrown.
     */
    async findDevice(
      lookup: DeviceLookup,
      prefetch: { management?: boolean; access?: boolean } = {},
    ): Promise<DeviceRef | null> {
      const ref: DeviceRef =
        'imei' in lookup
          ? { imei: lookup.imei, serialNumber: null, live: true }
          : { imei: null, serialNumber: lookup.serialNumber, live: true };
      // Records the query will ask for anyway are read alongside KDMS, not after it: one round trip, not two.
      const [registration, prefetchedManagement, prefetchedAccess] = await Promise.all([
        settle(loaders.registration(ref)),
        prefetch.management ? settle(loaders.management(ref)) : undefined,
        prefetch.access ? settle(loaders.access(ref)) : undefined,
      ]);
      const unavailable: NonNullable<DeviceRef['unavailable']> = {};
      const found = (device: DeviceRef): DeviceRef =>
        Object.keys(unavailable).length > 0
          ? { ...device, live: true, unavailable }
          : { ...device, live: true };
      if (registration.error) unavailable.registration = registration.error;
      if (prefetchedManagement?.error) unavailable.managed = prefetchedManagement.error;
      if (prefetchedAccess?.error) unavailable.access = prefetchedAccess.error;
      if (registration.value) return found(refFromRegistration(registration.value));
      const unknownTo = (key: 'registration' | 'managed', outcome: Settled<unknown>) =>
        outcome.error ? {} : { [key]: null };

      const management = prefetchedManagement ?? (await settle(loaders.management(ref)));
      if (management.error) unavailable.managed = management.error;
      if (management.value)
        return found({ ...refFromManaged(management.value), ...unknownTo('registration', registration) });

      const access = prefetchedAccess ?? (await settle(loaders.access(ref)));
      if (access.error) unavailable.access = access.error;
      if (access.value) {
        return found({
          ...refFromAccess(access.value),
          ...unknownTo('registration', registration),
          ...unknownTo('managed', management),
        });
      }
      const failure = registration.error ?? management.error ?? access.error;
      if (failure) throw failure;
      return null;
    },

    /** Records read elsewhere (a list page) are handed to the loaders so fields do not read them again. */
    primeRegistration(registration: DeviceRegistration): void {
      if (!batching) return;
      for (const id of [registration.imei, registration.secondaryImei, registration.serialNumber]) {
        if (id) registrationByIdentifier.prime(id, registration);
      }
    },

    /** Forget what this request read about a device after a write, so later fields see the change. */
    forgetAccess(cuid: string): void {
      accessByCuid.clear(cuid);
    },

    primeAccess(access: DeviceAccess): void {
      accessByCuid.clear(access.cuid).prime(access.cuid, access);
    },

    /** Whole-collection reads, for listings. */
    knoxManageIndex,
    boxIndex,
    /** KDMS membership of many devices at once (listings exclude devices an earlier API listed). */
    registrationsOf(ids: string[]): Promise<Array<DeviceRegistration | null | Error>> {
      return registrationByIdentifier.loadMany(ids);
    },
  };
  return loaders;
}
