import { identifiersOf, refFromAccess, refFromManaged, refFromRegistration } from '../domain/device-ref.js';
import type { DeviceRef } from '../domain/device-ref.js';
import type { DeviceIndexFilter, DeviceIndexOrder } from '../fleet-index/fleet-index.js';
import { listIndexedDevices } from './indexed-listing.js';
import { KNOX_MANAGE_MAX_LIMIT } from '../upstreams/knox-manage/knox-manage.wire.js';
import type { Loaders, UpstreamServices } from './create-loaders.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { CursorBinding, PositionKind } from './cursor.js';

/**
 * The fleet as one Relay connection over three differently paged APIs. The listing walks the APIs in
 * turn — KDMS (`searchAfter`), then Knox Manage devices KDMS does not hold (`start` offsets), then Box
 * devices neither holds (offsets into its one list) — so every device appears exactly once. The
 * opaque cursor carries the phase and that API's own paging state.
 */
export type DeviceFilter = DeviceIndexFilter;

export interface DevicePageRequest {
  first: number;
  after?: string | null;
  filter?: DeviceFilter;
  orderBy?: DeviceIndexOrder;
}

export interface DeviceEdgeData {
  cursor: string;
  ref: DeviceRef;
}

export interface DevicePageData {
  edges: DeviceEdgeData[];
  hasNextPage: boolean;
  /** How many devices the whole listing holds; only the fleet index can count them. */
  totalCount?: () => Promise<number>;
}

/** What only the fleet index answers was asked while it is off or not yet synced. */
export class FleetIndexUnavailableError extends Error {
  constructor(what: string, off: boolean) {
    super(
      off
        ? `${what} needs the fleet index, which is off (FLEET_INDEX=off)`
        : `${what} needs the fleet index, which has not finished its first sync yet (see /readyz or upstreams { sync })`,
    );
    this.name = 'FleetIndexUnavailableError';
  }
}

/** Filters and orders the live listing serves; everything else needs the index. */
const LIVE_FILTERS = new Set(['source', 'managementStatus', 'userId']);

type Phase = 'kdms' | 'km' | 'box';
interface ListingPlan {
  phases: Phase[];
  /** Skip devices that an earlier phase's API holds. */
  dedupe: boolean;
}

export class DeviceFilterError extends Error {}

function planFor(filter: DeviceFilter): ListingPlan {
  const managementOnly = filter.managementStatus !== undefined || filter.userId !== undefined;
  if (managementOnly) {
    if (filter.source && filter.source !== 'KNOX_MANAGE') {
      throw new DeviceFilterError(
        'managementStatus and userId filter Knox Manage devices; they cannot be combined with another source',
      );
    }
    return { phases: ['km'], dedupe: false };
  }
  switch (filter.source) {
    case 'KDMS':
      return { phases: ['kdms'], dedupe: false };
    case 'KNOX_MANAGE':
      return { phases: ['km'], dedupe: false };
    case 'BOX':
      return { phases: ['box'], dedupe: false };
    default:
      return { phases: ['kdms', 'km', 'box'], dedupe: true };
  }
}

export async function listDevices(
  services: UpstreamServices,
  loaders: Loaders,
  request: DevicePageRequest,
): Promise<DevicePageData> {
  if (services.fleetIndex?.usable) return listIndexedDevices(services.fleetIndex.index, request);
  const filter = request.filter ?? {};
  const indexOnly = Object.keys(filter).filter(
    (k) => !LIVE_FILTERS.has(k) && filter[k as keyof DeviceFilter] !== undefined,
  );
  if (indexOnly.length > 0)
    throw new FleetIndexUnavailableError(`Filtering by ${indexOnly.join(', ')}`, !services.fleetIndex);
  // The live listing's order is the APIs' own (KDMS, then Knox Manage, then Box): no orderBy serves it.
  if (request.orderBy) throw new FleetIndexUnavailableError('orderBy', !services.fleetIndex);
  const plan = planFor(filter);
  // A position means something only in the listing that issued it: the same filter, hence the same phases.
  const binding: CursorBinding = {
    list: 'devices',
    scope: {
      kind: 'filter',
      value: JSON.stringify([filter.source ?? null, filter.managementStatus ?? null, filter.userId ?? null]),
    },
  };
  const positions = plan.phases.map((p): PositionKind => (p === 'kdms' ? 'key' : 'offset'));
  const start = request.after
    ? decodeCursor(request.after, binding, positions)
    : { phase: 0, position: null };
  const edges: DeviceEdgeData[] = [];
  let phase = start.phase;
  let position: string | number | null = start.position;
  const cursor = (p: number, pos: string | number) => encodeCursor(binding, { phase: p, position: pos });

  while (edges.length < request.first && phase < plan.phases.length) {
    const need = request.first - edges.length;
    const kind = plan.phases[phase]!;
    if (kind === 'kdms') {
      const page = await services.kdms.getDevices({
        pageSize: need,
        ...(typeof position === 'string' ? { searchAfter: position } : {}),
      });
      for (const registration of page.registrations) {
        loaders.primeRegistration(registration);
        edges.push({ cursor: cursor(phase, registration.deviceId), ref: refFromRegistration(registration) });
      }
      if (page.nextSearchAfter === null) [phase, position] = [phase + 1, null];
      else position = page.registrations.at(-1)?.deviceId ?? position;
      continue;
    }
    if (kind === 'km') {
      const offset = typeof position === 'number' ? position : 0;
      // De-duplicating reads a full page: most of it may be skipped, and a page costs one call whatever its size.
      const limit = plan.dedupe ? KNOX_MANAGE_MAX_LIMIT : Math.min(need, KNOX_MANAGE_MAX_LIMIT);
      const page = await services.knoxManage.selectDeviceList({
        start: offset,
        limit,
        userId: filter.userId,
        status: filter.managementStatus,
      });
      const inKdms = plan.dedupe
        ? await membership(
            loaders,
            page.items.map((d) => identifiersOf(d)[0] ?? ''),
          )
        : null;
      let next = offset;
      for (const [i, managed] of page.items.entries()) {
        if (edges.length >= request.first) break;
        next = offset + i + 1;
        if (inKdms?.[i]) continue;
        edges.push({
          cursor: cursor(phase, next),
          ref: { ...refFromManaged(managed), ...(plan.dedupe ? { registration: null } : {}) },
        });
      }
      // Without a total, a short page is the last one.
      const exhausted =
        page.items.length === 0 ||
        (page.total === null ? page.items.length < limit : offset + page.items.length >= page.total);
      if (exhausted && next >= offset + page.items.length) [phase, position] = [phase + 1, null];
      else position = next;
      continue;
    }
    const index = await loaders.boxIndex();
    const offset = typeof position === 'number' ? position : 0;
    const window = index.all.slice(offset, offset + (plan.dedupe ? KNOX_MANAGE_MAX_LIMIT : need));
    let skip: boolean[] | null = null;
    if (plan.dedupe) {
      const [inKdms, km] = await Promise.all([
        membership(
          loaders,
          window.map((a) => a.cuid),
        ),
        loaders.knoxManageIndex(),
      ]);
      skip = window.map((a, i) => Boolean(inKdms[i]) || km.byImei.has(a.cuid) || km.bySerial.has(a.cuid));
    }
    let next = offset;
    for (const [i, access] of window.entries()) {
      if (edges.length >= request.first) break;
      next = offset + i + 1;
      if (skip?.[i]) continue;
      edges.push({
        cursor: cursor(phase, next),
        ref: { ...refFromAccess(access), ...(plan.dedupe ? { registration: null, managed: null } : {}) },
      });
    }
    if (next >= index.all.length) [phase, position] = [phase + 1, null];
    else position = next;
  }
  return { edges, hasNextPage: phase < plan.phases.length };
}

/** Whether KDMS holds each device, in one getDevices batch per 1,000 ids. */
async function membership(loaders: Loaders, ids: string[]): Promise<boolean[]> {
  const found = await loaders.registrationsOf(ids.filter(Boolean));
  const error = found.find((f): f is Error => f instanceof Error);
  if (error) throw error;
  const known = new Set<string>();
  ids.filter(Boolean).forEach((id, i) => found[i] && known.add(id));
  return ids.map((id) => known.has(id));
}

/** Devices KDMS registered under one upload; the cursor is KDMS's own `searchAfter`. */
export async function listUploadDevices(
  services: UpstreamServices,
  loaders: Loaders,
  uploadId: string,
  first: number,
  after: string | null,
): Promise<DevicePageData> {
  const binding: CursorBinding = { list: 'UploadJob.devices', scope: { kind: 'upload', value: uploadId } };
  const searchAfter = after ? (decodeCursor(after, binding, ['key']).position as string) : null;
  if (first === 0) return { edges: [], hasNextPage: false };
  const page = await services.kdms.getDevices({
    uploadId,
    pageSize: first,
    ...(searchAfter ? { searchAfter } : {}),
  });
  const edges = page.registrations.map((registration) => {
    loaders.primeRegistration(registration);
    return {
      cursor: encodeCursor(binding, { phase: 0, position: registration.deviceId }),
      ref: refFromRegistration(registration),
    };
  });
  return { edges, hasNextPage: page.nextSearchAfter !== null };
}
