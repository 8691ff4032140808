import type { SeededDevice, SeededFleet } from '../../src/emulators/fleet/seeded-fleet.js';
import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { STATUS_OF_CODE } from '../../src/upstreams/knox-manage/knox-manage.mapper.js';
import type { TestGraph } from './graph.js';
import { eventually } from './wait.js';

/**
 * What the fleet-index suites compare Fleetgraph with: the seeded fleet the emulators serve, as the
 * index should hold it (joined by IMEI, else serial number), and the emulators' own call counters.
 */
export const FLEET_INDEX_ENV = { FLEET_INDEX: 'on', FLEET_INDEX_FILE: 'memory', FLEET_SYNC_INTERVAL: '1h' };

export interface ExpectedDevice {
  /** The index's device key, which orders `orderBy: ID`. */
  key: string;
  imei: string | null;
  serialNumber: string;
  sources: string[];
  status: string | null;
  loginBlocked: boolean | null;
  model: string | null;
  ownerUserId: string | null;
  /** Knox Manage's `updated` on its list rows (the seeded last connection). */
  lastSeen: string | null;
  seeded: SeededDevice;
}

export function expectedDevices(fleet: SeededFleet): ExpectedDevice[] {
  return fleet.devices
    .filter((d) => d.kdms || d.knoxManage || d.box)
    .map((d) => ({
      key: d.imei ? `imei:${d.imei}` : `sn:${d.serialNumber}`,
      imei: d.imei,
      serialNumber: d.serialNumber,
      sources: [d.kdms && 'KDMS', d.knoxManage && 'KNOX_MANAGE', d.box && 'BOX'].filter(
        (s): s is string => typeof s === 'string',
      ),
      status: d.knoxManage ? STATUS_OF_CODE[d.knoxManage.status] : null,
      loginBlocked: d.box ? d.box.disabled : null,
      model: d.kdms || d.knoxManage ? d.model : null,
      ownerUserId: d.knoxManage?.ownerUserId ?? null,
      lastSeen: d.knoxManage ? new Date(d.knoxManage.lastConnectedAt).toISOString() : null,
      seeded: d,
    }));
}

/** Knox Manage and Box calls that read a whole collection (or a page of one). */
const LIST_ENDPOINT = /selectDeviceList|selectUsers|device\/list$/;

export function listCalls(emulators: RunningEmulators): number {
  const counts = emulators.requestCounts();
  return Object.entries({ ...counts.knoxManage, ...counts.box })
    .filter(([endpoint]) => LIST_ENDPOINT.test(endpoint))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Calls per endpoint, without token requests, of every emulator. */
export function callsByEndpoint(emulators: RunningEmulators): Record<string, number> {
  const counts = emulators.requestCounts();
  return Object.fromEntries(
    Object.entries({ ...counts.kdms, ...counts.knoxManage, ...counts.box }).filter(
      ([endpoint, n]) => n > 0 && !endpoint.includes('/oauth'),
    ),
  );
}

/** Until the graph's index is ready (synced since start), as /readyz says it; its state then. */
export async function indexReady(graph: TestGraph, timeoutMs = 120_000) {
  const sync = graph.fleetgraph.server.upstreams.fleetIndex?.sync;
  if (!sync) throw new Error('this graph runs without a fleet index');
  await eventually(() => sync.status().ready, 'the fleet index to be synced', timeoutMs);
  return sync.status();
}
