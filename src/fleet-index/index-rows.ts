import { deviceIdentifierKind } from '../domain/device-identifiers.js';
import type { DeviceAccess, DeviceRegistration, FleetUser, ManagedDevice } from '../domain/fleet.js';
import { canonicalCode } from '../domain/managed-device-codes.js';
import type { SqlValue } from './sql-engine.js';

/**
 * One upstream record as a row of its source table: the record itself (JSON) and the columns the index
 * finds, joins, filters and searches it by. The only place records are taken apart for the index.
 */
export type IndexRow = Record<string, SqlValue>;

/**
 * Words the text search matches: identifiers, names, e-mail parts, lower-cased, split on anything that
 * is not a letter or digit. Both engines then tokenize on spaces alone, so they find the same devices.
 */
export function searchWords(...values: Array<string | null | undefined>): string {
  return values
    .filter((v): v is string => Boolean(v))
    .join(' ')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join(' ');
}

const iso = (value: string | null): string | null => {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
};

export function registrationRow(r: DeviceRegistration, syncedAt: string): IndexRow {
  return {
    device_id: r.deviceId,
    imei: r.imei,
    secondary_imei: r.secondaryImei,
    serial: r.serialNumber,
    model: r.model,
    search_terms: searchWords(r.imei, r.secondaryImei, r.serialNumber, r.meid, r.model),
    record: JSON.stringify(r),
    synced_at: syncedAt,
  };
}

export function managedRow(m: ManagedDevice, syncedAt: string): IndexRow {
  return {
    device_id: m.deviceId,
    imei: m.imei,
    secondary_imei: m.secondaryImei,
    serial: m.serialNumber,
    model: m.model,
    status: m.status,
    owner_user_id: m.ownerUserId,
    platform: canonicalCode(m.platform),
    mobile_id: m.mobileId,
    // Knox Manage's list rows carry `updated`, not the last connection: the best "last seen" they give.
    last_seen: iso(m.lastConnectedAt) ?? iso(m.updatedAt),
    search_terms: searchWords(m.imei, m.serialNumber, m.mobileId, m.ownerUserId, m.model, m.modelName),
    record: JSON.stringify(m),
    synced_at: syncedAt,
  };
}

export function accessRow(a: DeviceAccess, syncedAt: string): IndexRow {
  return {
    cuid: a.cuid,
    cuid_is_imei: deviceIdentifierKind(a.cuid) === 'IMEI' ? 1 : 0,
    name: a.name,
    login_blocked: a.loginBlocked === null ? null : a.loginBlocked ? 1 : 0,
    search_terms: searchWords(a.cuid, a.name),
    record: JSON.stringify(a),
    synced_at: syncedAt,
  };
}

export function userRow(u: FleetUser, position: number, syncedAt: string): IndexRow {
  return {
    user_id: u.userId,
    position,
    search_terms: searchWords(u.userId, u.name, u.email),
    record: JSON.stringify(u),
    synced_at: syncedAt,
  };
}

/** The identifiers a record is joined by (its IMEIs and serial, or its cuid). */
export function identifiersOfRow(row: IndexRow): string[] {
  return [row.imei, row.secondary_imei, row.serial, row.cuid].filter(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
}
