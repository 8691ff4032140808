/**
 * What Fleetgraph knows about a fleet, in its own words: the mappers turn each API's wire records into
 * these, and the schema serves them. Upstream spellings (`blacklisted`, `resultValue`) stop at the mappers.
 */
export type Upstream = 'KDMS' | 'KNOX_MANAGE' | 'BOX';

/** A device as KDMS registered it. Only `deviceId` is certain: the rest is ASSUMED wire (kdms.wire.ts). */
export interface DeviceRegistration {
  deviceId: string;
  customerId: string | null;
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string | null;
  meid: string | null;
  model: string | null;
  uploadId: string | null;
  targetServices: string[];
  /** ISO 8601: domain values stay JSON-safe because they pass through keyv (and Redis). */
  uploadedAt: string | null;
}

export type ManagementStatus =
  | 'DEACTIVATED'
  | 'PROVISIONED'
  | 'ACTIVATED'
  | 'BLOCKED'
  | 'BLOCKED_BY_SYSTEM'
  | 'BLOCKED_BY_ADMIN'
  | 'LICENSE_EXPIRED';

/** A device as Knox Manage manages it. */
export interface ManagedDevice {
  deviceId: string;
  /** Knox Manage's name for the device (e.g. `g991b_Android_14`). */
  mobileId: string | null;
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string | null;
  /** Null when Knox Manage sent none, or a code it does not document. */
  status: ManagementStatus | null;
  ownerUserId: string | null;
  phoneNumber: string | null;
  model: string | null;
  modelName: string | null;
  /** Knox Manage's platform code as sent (A, I, W…; managed-device-codes.ts reads it). */
  platform: string | null;
  /**
   * Knox Manage's ownership code as sent (`ownerShip`: E, EC, C…). Optional: records cached or indexed
   * before Fleetgraph read it have none, which reads as "not said".
   */
  ownership?: string | null;
  /** ISO 8601. */
  lastConnectedAt: string | null;
  /** When Knox Manage last changed the record (ISO 8601); its list rows carry this, not lastConnectedAt. */
  updatedAt: string | null;
  tags: string[];
  organization: string | null;
}

/** A device as the Box admin API controls its access. */
export interface DeviceAccess {
  guid: string;
  cuid: string;
  name: string | null;
  /** Box `disabled`; null when Box did not say. */
  loginBlocked: boolean | null;
  /** Box `blacklisted`; null when Box did not say. */
  purgeAppDataOnNextLogin: boolean | null;
}

export interface DeviceAccessChange {
  name?: string;
  loginBlocked?: boolean;
  purgeAppDataOnNextLogin?: boolean;
}

export interface DeviceApp {
  id: string;
  name: string | null;
  description: string | null;
}

/** A user Box saw authenticate from a device. */
export interface DeviceAppUser {
  userId: string;
  email: string | null;
}

export interface FleetUser {
  userId: string;
  name: string | null;
  email: string | null;
  /** Knox Manage's deprecated `enabled`; null when it does not say. */
  active: boolean | null;
  organization: string | null;
}

export type AuthenticationOutcome =
  | { kind: 'AUTHENTICATED'; user: FleetUser }
  | { kind: 'REJECTED'; code: string; message: string }
  /** `code` is Knox Manage's result code, or null when Fleetgraph checked the documented rules itself. */
  | { kind: 'INVALID_INPUT'; code: string | null; message: string };

export interface Page<T> {
  items: T[];
  /** Null when the upstream did not say; pagers then read until a short page. */
  total: number | null;
}
