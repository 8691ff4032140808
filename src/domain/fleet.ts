/**
 * What Fleetgraph knows about a fleet, in its own words: the mappers turn each API's wire records into
 * these, and the schema serves them. Upstream spellings (`blacklisted`, `resultValue`) stop at the mappers.
 */
export type Upstream = 'KDMS' | 'KNOX_MANAGE' | 'BOX';

/** A device as KDMS registered it. */
export interface DeviceRegistration {
  deviceId: string;
  customerId: string;
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string | null;
  meid: string | null;
  model: string | null;
  uploadId: string;
  targetServices: string[];
  /** ISO 8601: domain values stay JSON-safe because they pass through keyv (and Redis). */
  uploadedAt: string;
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
  mobileId: string;
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string | null;
  status: ManagementStatus;
  ownerUserId: string | null;
  phoneNumber: string | null;
  model: string | null;
  modelName: string | null;
  platform: string | null;
  /** ISO 8601. */
  lastConnectedAt: string | null;
  tags: string[];
  organization: string | null;
}

/** A device as the Box admin API controls its access. */
export interface DeviceAccess {
  guid: string;
  cuid: string;
  name: string;
  /** Box `disabled`. */
  loginBlocked: boolean;
  /** Box `blacklisted`. */
  purgeAppDataOnNextLogin: boolean;
}

export interface DeviceAccessChange {
  name?: string;
  loginBlocked?: boolean;
  purgeAppDataOnNextLogin?: boolean;
}

export interface DeviceApp {
  id: string;
  name: string;
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
  active: boolean;
  organization: string | null;
}

export type AuthenticationOutcome =
  | { kind: 'AUTHENTICATED'; user: FleetUser }
  | { kind: 'REJECTED'; code: string; message: string }
  | { kind: 'INVALID_INPUT'; code: string; message: string };

export interface Page<T> {
  items: T[];
  total: number;
}
