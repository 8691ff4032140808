import type { FleetUser, ManagedDevice, ManagementStatus } from '../../domain/fleet.js';
import type { KnoxManageDevice, KnoxManageDeviceStatus, KnoxManageUser } from './knox-manage.wire.js';

const STATUS: Record<KnoxManageDeviceStatus, ManagementStatus> = {
  I: 'DEACTIVATED',
  P: 'PROVISIONED',
  A: 'ACTIVATED',
  B: 'BLOCKED',
  BS: 'BLOCKED_BY_SYSTEM',
  BA: 'BLOCKED_BY_ADMIN',
  BL: 'LICENSE_EXPIRED',
};

export const MANAGEMENT_STATUS_CODES = Object.fromEntries(
  Object.entries(STATUS).map(([code, status]) => [status, code]),
) as Record<ManagementStatus, KnoxManageDeviceStatus>;

/** Knox Manage sends "" for absent values. */
const orNull = (value: string | undefined | null): string | null => (value ? value : null);

export function toManagedDevice(device: KnoxManageDevice): ManagedDevice {
  return {
    deviceId: device.deviceId,
    mobileId: device.mobileId,
    imei: orNull(device.imei),
    secondaryImei: orNull(device.secondaryImei),
    serialNumber: orNull(device.serialNumber),
    status: STATUS[device.deviceStatus] ?? 'DEACTIVATED',
    ownerUserId: orNull(device.userId),
    phoneNumber: orNull(device.phone),
    model: orNull(device.deviceModel),
    modelName: orNull(device.deviceModelKind),
    platform: orNull(device.platform),
    lastConnectedAt: device.lastConnectionDate?.time
      ? new Date(device.lastConnectionDate.time).toISOString()
      : null,
    tags: (device.deviceTags ?? []).map((t) => t.tagValue).filter(Boolean),
    organization: orNull(device.orgName),
  };
}

export function toFleetUser(user: KnoxManageUser): FleetUser {
  return {
    userId: user.userId,
    name: orNull(user.userName),
    email: orNull(user.email),
    active: user.userStatus === 'A',
    organization: orNull(user.orgName),
  };
}
