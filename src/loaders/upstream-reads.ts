import { randomUUID } from 'node:crypto';
import type { Keyv } from 'keyv';
import type {
  DeviceAccess,
  DeviceApp,
  DeviceAppUser,
  FleetUser,
  ManagedDevice,
  Page,
} from '../domain/fleet.js';
import type { BoxClient } from '../upstreams/box/box.client.js';
import type { Metrics } from '../observability/metrics.js';
import type { KnoxManageClient } from '../upstreams/knox-manage/knox-manage.client.js';
import { KNOX_MANAGE_MAX_LIMIT } from '../upstreams/knox-manage/knox-manage.wire.js';
import { CallerBudgetError, UpstreamCancelledError } from '../upstreams/upstream-http.js';
import { SingleFlight, mapSettled } from './concurrency.js';

/**
 * Whole-collection reads that many requests share: Knox Manage's device and user lists and Box's device
 * list. process-wide: identical reads in flight are shared, and results live in the keyv read cache for
 * `ttlMs` (0 turns the cache off). Our own writes and webhook events invalidate them. The cache is an
 * optimisation only: when its store (Redis) is unreachable, reads go to the upstreams as if it missed.
 */
export interface KnoxManageDeviceIndex {
  byImei: Map<string, ManagedDevice>;
  bySerial: Map<string, ManagedDevice>;
  byUser: Map<string, ManagedDevice[]>;
  all: ManagedDevice[];
}

export interface BoxDeviceIndex {
  byCuid: Map<string, DeviceAccess>;
  all: DeviceAccess[];
}

export const READ_KEYS = {
  knoxManageDevices: 'knox-manage:devices',
  knoxManageUsers: 'knox-manage:users',
  boxDevices: 'box:devices',
} as const;

/** Single-device reads cached across requests (same TTL as the lists); writes invalidate them. */
export const DEVICE_KEYS = {
  knoxManageByImei: 'knox-manage:device:imei:',
  knoxManageBySerial: 'knox-manage:device:serial:',
  boxDevice: 'box:device:',
  boxApps: 'box:apps:',
  boxUsers: 'box:users:',
} as const;

/**
 * The fence key of a cached read: a write replaces its token, and a read that began under another
 * token does not store its (older) result. In the shared store, so it fences every replica's reads.
 */
const fenceKey = (key: string) => `${key}#fence`;
/** A fence outlives any read that could have started before it (far beyond an upstream deadline). */
const FENCE_TTL_MS = 10 * 60_000;

export class UpstreamReads {
  private readonly flights = new SingleFlight();
  /** One index per fetched list, not per request: the lists are shared, so are their indexes. */
  private readonly knoxManageIndexes = new WeakMap<ManagedDevice[], KnoxManageDeviceIndex>();
  private readonly boxIndexes = new WeakMap<DeviceAccess[], BoxDeviceIndex>();
  private readonly userIndexes = new WeakMap<FleetUser[], Map<string, FleetUser>>();
  /** Pages a full Knox Manage device list costs, learned from the last read (planner input). */
  private knoxManageDevicePages = 1;
  /** process-wide: bumped by every invalidation, so this process's in-flight reads see it at once. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly knoxManage: KnoxManageClient,
    private readonly box: BoxClient,
    private readonly cache: Keyv,
    private readonly ttlMs: number,
    private readonly metrics?: Metrics,
    private readonly onStoreError?: (error: unknown) => void,
  ) {}

  /** Runs a cache operation; a store failure counts as a miss (or a skipped write) and is reported. */
  private async tolerant<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.onStoreError?.(error);
      return fallback;
    }
  }

  private countLookup(cache: string, hit: boolean): void {
    this.metrics?.cacheLookups.inc({ cache, result: hit ? 'hit' : 'miss' });
  }

  /** Calls a full Knox Manage device list costs. */
  get knoxManageListCost(): number {
    return this.knoxManageDevicePages;
  }

  async knoxManageDevices(): Promise<KnoxManageDeviceIndex> {
    const all = await this.cached(READ_KEYS.knoxManageDevices, async () => {
      const devices = await this.readAllPages((start) =>
        this.knoxManage.selectDeviceList({ start, limit: KNOX_MANAGE_MAX_LIMIT }),
      );
      this.knoxManageDevicePages = Math.max(1, Math.ceil(devices.length / KNOX_MANAGE_MAX_LIMIT));
      return devices;
    });
    return indexOnce(this.knoxManageIndexes, all, indexManagedDevices);
  }

  /** Every Knox Manage user, in its order: `selectUsers` does not page, one call reads them all. */
  async knoxManageUserList(): Promise<FleetUser[]> {
    return this.cached(READ_KEYS.knoxManageUsers, async () => (await this.knoxManage.selectUsers()).items);
  }

  async knoxManageUsers(): Promise<Map<string, FleetUser>> {
    const all = await this.knoxManageUserList();
    return indexOnce(this.userIndexes, all, (users) => new Map(users.map((u) => [u.userId, u])));
  }

  async boxDevices(): Promise<BoxDeviceIndex> {
    const all = await this.cached(READ_KEYS.boxDevices, () => this.box.listDevices());
    return indexOnce(this.boxIndexes, all, (devices) => ({
      all: devices,
      byCuid: new Map(devices.map((d) => [d.cuid, d])),
    }));
  }

  /** Box apps per device: Box reads them one device at a time, so each device's list is cached on its own. */
  /** `box` is the requesting caller's client (its budget, its abort signal); results are shared. */
  boxAppsOf(
    cuids: readonly string[],
    concurrency: number,
    box: BoxClient = this.box,
  ): Promise<Array<DeviceApp[] | null | Error>> {
    return this.cachedEach(DEVICE_KEYS.boxApps, cuids, concurrency, (cuid) => box.listApps(cuid));
  }

  boxUsersOf(
    cuids: readonly string[],
    concurrency: number,
    box: BoxClient = this.box,
  ): Promise<Array<DeviceAppUser[] | null | Error>> {
    return this.cachedEach(DEVICE_KEYS.boxUsers, cuids, concurrency, (cuid) => box.listUsers(cuid));
  }

  /**
   * One device read through the cache (`prefix` from DEVICE_KEYS), made with the caller's own client:
   * repeated reads of one device within the TTL cost one upstream call.
   */
  async device<T>(prefix: string, id: string, concurrency: number, load: (id: string) => Promise<T>) {
    const [outcome] = await this.cachedEach(prefix, [id], concurrency, load);
    if (outcome instanceof Error) throw outcome;
    return outcome as T;
  }

  /**
   * After a write: the cached values go, reads in flight that began before it are no longer joined,
   * and none of them may store its result (the fence), here or on any replica sharing the store.
   */
  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
      this.flights.forget(key);
    }
    await Promise.all(
      keys.map(async (k) => {
        if (this.ttlMs > 0)
          await this.tolerant(() => this.cache.set(fenceKey(k), randomUUID(), FENCE_TTL_MS), false);
        await this.tolerant(() => this.cache.delete(k), false);
      }),
    );
  }

  /** The read's ticket: stores its result only if no write fenced the key meanwhile. */
  private async ticket(key: string): Promise<() => Promise<boolean>> {
    const generation = this.generations.get(key) ?? 0;
    const fence = await this.tolerant(
      async () => (await this.cache.get(fenceKey(key))) as unknown,
      undefined,
    );
    return async () =>
      (this.generations.get(key) ?? 0) === generation &&
      (await this.tolerant(async () => (await this.cache.get(fenceKey(key))) as unknown, null)) === fence;
  }

  /** Loads and caches `key`, unless a write fenced it while the load was in flight. */
  private async loadAndStore<T>(key: string, load: () => Promise<T>): Promise<T> {
    const stillCurrent = this.ttlMs > 0 ? await this.ticket(key) : null;
    const value = await load();
    if (stillCurrent && (await stillCurrent()))
      await this.tolerant(() => this.cache.set(key, value, this.ttlMs), false);
    return value;
  }

  /** Per-key reads through the cache: hits from keyv, misses read concurrently (each shared while in flight). */
  private async cachedEach<T>(
    prefix: string,
    keys: readonly string[],
    concurrency: number,
    load: (key: string) => Promise<T>,
  ): Promise<Array<T | Error>> {
    const hits: Array<T | undefined> =
      this.ttlMs > 0
        ? await this.tolerant(
            async () => (await this.cache.getMany(keys.map((k) => prefix + k))) as Array<T | undefined>,
            [],
          )
        : [];
    return mapSettled([...keys.keys()], concurrency, async (i) => {
      const hit = hits[i];
      if (this.ttlMs > 0) this.countLookup(prefix.slice(0, -1), hit !== undefined);
      if (hit !== undefined) return hit;
      const key = keys[i]!;
      const read = () => this.loadAndStore(prefix + key, () => load(key));
      // A shared flight runs under its first caller's signal and budget: when that caller left or was over
      // its share, read for ourselves (our own budget decides, our own signal cancels).
      return this.flights
        .run(prefix + key, read)
        .catch((error: unknown) =>
          error instanceof UpstreamCancelledError || error instanceof CallerBudgetError
            ? read()
            : Promise.reject(error),
        );
    });
  }

  /** Reads page 0, then the remaining pages of the collection concurrently. */
  /** With a total the remaining pages are read at once; without one, one after another to a short page. */
  private async readAllPages<T>(readPage: (start: number) => Promise<Page<T>>): Promise<T[]> {
    const first = await readPage(0);
    if (first.total === null) {
      const items = [...first.items];
      for (let page = first; page.items.length === KNOX_MANAGE_MAX_LIMIT; items.push(...page.items))
        page = await readPage(items.length);
      return items;
    }
    const starts: number[] = [];
    for (let start = KNOX_MANAGE_MAX_LIMIT; start < first.total; start += KNOX_MANAGE_MAX_LIMIT)
      starts.push(start);
    const rest = await Promise.all(starts.map(readPage));
    return [...first.items, ...rest.flatMap((p) => p.items)];
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.flights.run(key, async () => {
      if (this.ttlMs > 0) {
        const hit = await this.tolerant(async () => (await this.cache.get(key)) as T | undefined, undefined);
        this.countLookup(key, hit !== undefined);
        if (hit !== undefined) return hit;
      }
      return this.loadAndStore(key, load);
    });
  }
}

function indexOnce<T extends object, I>(indexes: WeakMap<T, I>, list: T, build: (list: T) => I): I {
  let index = indexes.get(list);
  if (!index) indexes.set(list, (index = build(list)));
  return index;
}

function indexManagedDevices(all: ManagedDevice[]): KnoxManageDeviceIndex {
  const index: KnoxManageDeviceIndex = { all, byImei: new Map(), bySerial: new Map(), byUser: new Map() };
  for (const d of all) {
    if (d.imei) index.byImei.set(d.imei, d);
    if (d.secondaryImei) index.byImei.set(d.secondaryImei, d);
    if (d.serialNumber) index.bySerial.set(d.serialNumber, d);
    if (d.ownerUserId) {
      const list = index.byUser.get(d.ownerUserId) ?? [];
      list.push(d);
      index.byUser.set(d.ownerUserId, list);
    }
  }
  return index;
}
