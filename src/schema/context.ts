import type { DeviceRef } from '../domain/device-ref.js';
import type {
  AuthenticationOutcome,
  DeviceAccess,
  DeviceAccessChange,
  FleetUser,
  Page,
  Upstream,
} from '../domain/fleet.js';
import type { UploadJob, UploadJobStatus } from '../jobs/upload-job.js';
import type { SubmitRequest } from '../jobs/upload-jobs.js';
import type { Loaders } from '../loaders/create-loaders.js';
import type { CallerAuth } from './auth-checker.js';
import type { DevicePageData, DevicePageRequest } from '../loaders/device-listing.js';
import type { DeviceIndexFilter, FleetSummaryData } from '../fleet-index/fleet-index.js';

/**
 * What a resolver may use, built per request by the server. Resolvers reach upstreams only through
 * these (loaders, listings and writes), never through a client or an HTTP call of their own.
 */
export interface UpstreamHealthReport {
  upstream: Upstream;
  status: 'UP' | 'DOWN';
  latencyMs: number;
  message: string | null;
  sync: UpstreamSyncReport | null;
}

export type FleetSummaryValue = FleetSummaryData & { syncedAt: string | null };

/** The fleet index's state for one upstream (`upstreams { sync }`); null when the index is off. */
export interface UpstreamSyncReport {
  records: number;
  lastFullSyncAt: string | null;
  lastError: string | null;
  inProgressPercent: number | null;
}

export interface GraphContext {
  auth: CallerAuth;
  loaders: Loaders;
  listings: {
    devices(request: DevicePageRequest): Promise<DevicePageData>;
    fleetSummary(filter: DeviceIndexFilter): Promise<FleetSummaryValue>;
    users(start: number, limit: number): Promise<Page<FleetUser>>;
    /** Devices KDMS registered under one upload, in KDMS order. */
    uploadDevices(uploadId: string, first: number, after: string | null): Promise<DevicePageData>;
  };
  writes: {
    /** Null when Box does not know the device. */
    updateDeviceAccess(ref: DeviceRef, change: DeviceAccessChange): Promise<DeviceAccess | null>;
    authenticateUser(userId: string, password: string): Promise<AuthenticationOutcome>;
  };
  health(): Promise<UpstreamHealthReport[]>;
  jobs: {
    get(id: string): Promise<UploadJob | null>;
    list(
      status: UploadJobStatus | null,
      offset: number,
      limit: number,
    ): Promise<{ jobs: UploadJob[]; hasMore: boolean }>;
    /** How many jobs `list` walks, all pages; null when the store cannot count them without reading each. */
    count(status: UploadJobStatus | null): Promise<number | null>;
    submit(request: SubmitRequest): Promise<UploadJob>;
    watch(id: string): AsyncIterable<UploadJob>;
  };
}
