import { SearchTextError } from '../fleet-index/fleet-index.js';
import type { DeviceIndexFilter, DeviceIndexOrder, FleetIndex } from '../fleet-index/fleet-index.js';
import { CursorError, decodeCursor, encodeCursor } from './cursor.js';
import type { CursorBinding } from './cursor.js';
import type { DevicePageData, DevicePageRequest } from './device-listing.js';
import { DeviceFilterError } from './device-listing.js';

/**
 * The fleet from the index: one query a page, whatever the fleet's size, with any combination of
 * filters, any order, and a count. The cursor holds the last device's sort value and key (keyset
 * paging), bound to the filter and order that issued it.
 */
export const DEFAULT_ORDER: DeviceIndexOrder = { field: 'ID', direction: 'ASC' };

export async function listIndexedDevices(
  index: FleetIndex,
  request: DevicePageRequest,
): Promise<DevicePageData> {
  const filter: DeviceIndexFilter = request.filter ?? {};
  const order = request.orderBy ?? DEFAULT_ORDER;
  const binding: CursorBinding = {
    list: 'devices',
    scope: { kind: 'filter', value: JSON.stringify(['index', filter, order]) },
  };
  let after: { sortValue: string; key: string } | null = null;
  if (request.after) {
    const position = decodeCursor(request.after, binding, ['key']).position as string;
    let parsed: unknown;
    try {
      parsed = JSON.parse(position);
    } catch {
      parsed = null;
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((v) => typeof v === 'string'))
      throw new CursorError('The cursor is not one this listing issued');
    after = { sortValue: parsed[0] as string, key: parsed[1] as string };
  }
  try {
    const rows = request.first === 0 ? [] : await index.devicePage(filter, order, request.first + 1, after);
    const page = rows.slice(0, request.first);
    return {
      edges: page.map((device) => ({
        cursor: encodeCursor(binding, { phase: 0, position: JSON.stringify([device.sortValue, device.key]) }),
        ref: {
          imei: device.imei,
          serialNumber: device.serialNumber,
          registration: device.registration,
          managed: device.managed,
          access: device.access,
          syncedAt: device.syncedAt,
        },
      })),
      hasNextPage: rows.length > request.first,
      totalCount: () => index.countDevices(filter),
    };
  } catch (error) {
    if (error instanceof SearchTextError) throw new DeviceFilterError(error.message);
    throw error;
  }
}
