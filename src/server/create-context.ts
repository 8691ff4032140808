import type { DeviceRef } from '../domain/device-ref.js';
import { identifiersOf } from '../domain/device-ref.js';
import type { DeviceAccess, DeviceAccessChange, Upstream } from '../domain/fleet.js';
import type { UploadJobService } from '../jobs/upload-jobs.js';
import { createLoaders } from '../loaders/create-loaders.js';
import { FleetIndexUnavailableError, listDevices, listUploadDevices } from '../loaders/device-listing.js';
import type { UpstreamSyncReport } from '../schema/context.js';
import { INDEX_SOURCES, UPSTREAM_OF } from '../fleet-index/fleet-index.js';

/** Models fleetSummary lists (the most common first). */
const SUMMARY_MODELS = 50;
import { DEVICE_KEYS, READ_KEYS } from '../loaders/upstream-reads.js';
import type { Metrics } from '../observability/metrics.js';
import type { CallerAuth } from '../schema/auth-checker.js';
import type { GraphContext, UpstreamHealthReport } from '../schema/context.js';
import type { Upstreams } from './create-upstreams.js';

export interface ContextDependencies {
  auth: CallerAuth;
  /** Forwarded on every upstream call this request makes. */
  requestId?: string;
  /** Aborted when the caller went away (connection closed): its upstream work is cancelled. */
  signal?: AbortSignal;
  upstreams: Upstreams;
  jobs: UploadJobService;
  batching: boolean;
  metrics?: Metrics;
}

/** per request: fresh loaders, so one caller's cached keys never serve another. */
export function createContext({
  auth,
  requestId,
  signal,
  upstreams: shared,
  jobs,
  batching,
  metrics,
}: ContextDependencies): GraphContext {
  // Per request: clients that forward the request id, spend the caller's budget (its JWT subject) and
  // stop when the caller leaves; whole-list reads stay shared across requests.
  const caller = auth.enabled ? auth.principal?.subject : undefined;
  const upstreams: Upstreams =
    requestId || caller !== undefined || signal
      ? {
          ...shared,
          ...shared.forRequest({
            ...(requestId ? { requestId } : {}),
            ...(caller !== undefined ? { caller } : {}),
            ...(signal ? { signal } : {}),
          }),
        }
      : shared;
  const loaders = createLoaders(upstreams, {
    batching,
    ...(metrics
      ? { onBatch: (loader: string, size: number) => metrics.loaderBatchSize.observe({ loader }, size) }
      : {}),
  });
  return {
    auth,
    loaders,
    listings: {
      devices: (request) => listDevices(upstreams, loaders, request),
      fleetSummary: async (filter) => {
        const fleetIndex = upstreams.fleetIndex;
        if (!fleetIndex?.usable) throw new FleetIndexUnavailableError('fleetSummary', !fleetIndex);
        const summary = await fleetIndex.index.summary(filter, SUMMARY_MODELS);
        return { ...summary, syncedAt: fleetIndex.sync.status().lastFullSyncAt };
      },
      users: async (start, limit) => {
        if (upstreams.fleetIndex?.usable) return upstreams.fleetIndex.index.userPage(start, limit);
        // Knox Manage does not page users: the whole list (cached like the device lists) is sliced here.
        const all = await upstreams.reads.knoxManageUserList();
        return { items: all.slice(start, start + limit), total: all.length };
      },
      uploadDevices: (uploadId, first, after) =>
        listUploadDevices(upstreams, loaders, uploadId, first, after),
    },
    writes: {
      updateDeviceAccess: (ref, change) => updateDeviceAccess(upstreams, ref, change),
      authenticateUser: (userId, password) => upstreams.knoxManage.authenticate(userId, password),
    },
    health: () => checkUpstreams(upstreams),
    jobs: {
      get: (id) => jobs.get(id),
      list: (status, offset, limit) => jobs.list(status, offset, limit),
      count: (status) => jobs.count(status),
      submit: (request) => jobs.submit(request),
      watch: (id) => jobs.watch(id),
    },
  };
}

/** Box keys devices by cuid, which is the IMEI or else the serial number: try them in that order. */
async function updateDeviceAccess(
  upstreams: Upstreams,
  ref: DeviceRef,
  change: DeviceAccessChange,
): Promise<DeviceAccess | null> {
  for (const cuid of identifiersOf(ref)) {
    const updated = await upstreams.box.updateDevice(cuid, change);
    if (updated) {
      // The cached Box list and device read no longer tell the truth about this device (reads in flight
      // that began before the write are fenced off the cache).
      await upstreams.reads.invalidate(READ_KEYS.boxDevices, DEVICE_KEYS.boxDevice + updated.cuid);
      // Our own write is in the index before the caller hears it succeeded.
      await upstreams.fleetIndex?.refresh('updateDeviceAccess', (index) => index.putAccess(updated));
      return updated;
    }
  }
  return null;
}

/** One cheap authenticated call per API; never throws. */
async function checkUpstreams(upstreams: Upstreams): Promise<UpstreamHealthReport[]> {
  const check = async (upstream: Upstream, call: () => Promise<unknown>): Promise<UpstreamHealthReport> => {
    const started = performance.now();
    const sync = syncReport(upstreams, upstream);
    try {
      await call();
      return {
        upstream,
        status: 'UP',
        latencyMs: Math.round(performance.now() - started),
        message: null,
        sync,
      };
    } catch (error) {
      return {
        upstream,
        status: 'DOWN',
        latencyMs: Math.round(performance.now() - started),
        message: error instanceof Error ? error.message : String(error),
        sync,
      };
    }
  };
  return Promise.all([
    check('KDMS', () => upstreams.kdms.getDevices({ pageSize: 1 })),
    check('KNOX_MANAGE', () => upstreams.knoxManage.selectUserWithId('fleetgraph-health-check')),
    // An unknown cuid answers 404 when the key is good: reachability without reading the whole list.
    check('BOX', () => upstreams.box.readDevice('fleetgraph-health-check')),
  ]);
}

/** The fleet index's state for what it mirrors of one upstream (Knox Manage: devices and users together). */
function syncReport(upstreams: Upstreams, upstream: Upstream): UpstreamSyncReport | null {
  if (!upstreams.fleetIndex) return null;
  const status = upstreams.fleetIndex.sync.status();
  const sources = INDEX_SOURCES.filter((s) => UPSTREAM_OF[s] === upstream).map((s) => status.sources[s]);
  const synced = sources.map((s) => s.lastFullSyncAt);
  return {
    records: sources.reduce((sum, s) => sum + s.records, 0),
    lastFullSyncAt: synced.includes(null) ? null : (synced as string[]).sort()[0]!,
    lastError: sources.map((s) => s.lastError).find((e) => e !== null) ?? null,
    inProgressPercent: status.progressPercent,
  };
}
