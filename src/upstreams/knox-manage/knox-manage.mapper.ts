import type { z } from 'zod';
import type { FleetUser, ManagedDevice, ManagementStatus } from '../../domain/fleet.js';
import type { KnoxManageDeviceDetail, KnoxManageDeviceRow, KnoxManageUser } from './knox-manage.wire.js';
import type { KnoxManageDeviceStatus } from './knox-manage.wire.js';

/** Knox Manage's status codes in Fleetgraph's words. */
export const STATUS_OF_CODE: Record<KnoxManageDeviceStatus, ManagementStatus> = {
  I: 'DEACTIVATED',
  P: 'PROVISIONED',
  A: 'ACTIVATED',
  B: 'BLOCKED',
  BS: 'BLOCKED_BY_SYSTEM',
  BA: 'BLOCKED_BY_ADMIN',
  BL: 'LICENSE_EXPIRED',
};

export const MANAGEMENT_STATUS_CODES = Object.fromEntries(
  Object.entries(STATUS_OF_CODE).map(([code, status]) => [status, code]),
) as Record<ManagementStatus, KnoxManageDeviceStatus>;

/** Null for no status, or for a code the API does not document (never a guess). */
function toStatus(code: string | null): ManagementStatus | null {
  return code !== null && Object.hasOwn(STATUS_OF_CODE, code)
    ? STATUS_OF_CODE[code as KnoxManageDeviceStatus]
    : null;
}

type DeviceRecord = z.output<typeof KnoxManageDeviceRow> | z.output<typeof KnoxManageDeviceDetail>;

export function toManagedDevice(device: DeviceRecord): ManagedDevice {
  return {
    deviceId: device.deviceId,
    mobileId: device.mobileId,
    imei: device.imei,
    // Neither the spec's list rows nor its detail carry a second IMEI.
    secondaryImei: null,
    serialNumber: device.serialNumber,
    status: toStatus(device.deviceStatus),
    ownerUserId: device.userId,
    phoneNumber: device.phone,
    model: device.deviceModel,
    modelName: device.deviceModelKind,
    platform: device.platform,
    ownership: device.ownerShip,
    // List rows carry no last connection in the spec (only DeviceDetail does); some deployments send it.
    lastConnectedAt: device.lastConnectionDate,
    updatedAt: device.updated,
    tags: 'deviceTags' in device ? device.deviceTags.flatMap((t) => (t.tagValue ? [t.tagValue] : [])) : [],
    organization: device.orgName,
  };
}

export function toFleetUser(user: z.output<typeof KnoxManageUser>): FleetUser {
  return {
    userId: user.userId,
    name: user.userName,
    email: user.email,
    // `enabled` is deprecated: absent means Knox Manage no longer says, not that the user is disabled.
    active: user.enabled === null ? null : user.enabled === '1',
    organization: user.orgName,
  };
}
