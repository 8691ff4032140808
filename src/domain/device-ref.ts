import { deviceIdentifierKind } from './device-identifiers.js';
import type { DeviceAccess, DeviceRegistration, ManagedDevice } from './fleet.js';

/**
 * What the graph holds for one device while a request resolves it: its identifiers and whichever
 * upstream records were already read on the way (a list page, a reference). `undefined` means "not
 * looked up yet"; `null` means "looked up, and that API does not know the device"; an entry in
 * `unavailable` means "looked up, and that API failed": its fields carry that error, and the API is not
 * asked again for this device in the same request.
 */
export interface DeviceRef {
  imei: string | null;
  serialNumber: string | null;
  registration?: DeviceRegistration | null;
  managed?: ManagedDevice | null;
  access?: DeviceAccess | null;
  unavailable?: { registration?: Error; managed?: Error; access?: Error };
  /** Read from the upstreams, not the fleet index (`device(...)` by one identifier reads live). */
  live?: boolean;
  /** When the fleet index last refreshed the records this device was listed from (ISO). */
  syncedAt?: string;
}

export type DeviceLookup = { imei: string } | { serialNumber: string };

/** Stable, opaque device id: derived from the IMEI, else the serial number (DESIGN §3, identity). */
export function deviceIdOf(ref: Pick<DeviceRef, 'imei' | 'serialNumber'>): string {
  const key = ref.imei ? `imei:${ref.imei}` : `sn:${ref.serialNumber ?? ''}`;
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The identifiers inside a device id, or null when it is not one of ours. */
export function parseDeviceId(id: string): DeviceLookup | null {
  const decoded = Buffer.from(id, 'base64url').toString('utf8');
  const [kind, value] = [decoded.slice(0, decoded.indexOf(':')), decoded.slice(decoded.indexOf(':') + 1)];
  if (kind === 'imei' && deviceIdentifierKind(value) === 'IMEI') return { imei: value };
  if (kind === 'sn' && value.length > 0 && deviceIdOf({ imei: null, serialNumber: value }) === id)
    return { serialNumber: value };
  return null;
}

export function refFromRegistration(registration: DeviceRegistration): DeviceRef {
  return { imei: registration.imei, serialNumber: registration.serialNumber, registration };
}

export function refFromManaged(managed: ManagedDevice): DeviceRef {
  return { imei: managed.imei, serialNumber: managed.serialNumber, managed };
}

/** A Box `cuid` is the device's IMEI or serial number (DESIGN §3). */
export function refFromAccess(access: DeviceAccess): DeviceRef {
  const kind = deviceIdentifierKind(access.cuid);
  return {
    imei: kind === 'IMEI' ? access.cuid : null,
    serialNumber: kind === 'IMEI' ? null : access.cuid,
    access,
  };
}

/** Identifiers to try, most specific first: devices join by IMEI, then serial number. */
export function identifiersOf(ref: Pick<DeviceRef, 'imei' | 'serialNumber'>): string[] {
  return [ref.imei, ref.serialNumber].filter((v): v is string => Boolean(v));
}
