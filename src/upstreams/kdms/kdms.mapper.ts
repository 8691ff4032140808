import type { DeviceRegistration } from '../../domain/fleet.js';
import type { KdmsDevice, KdmsGetDevicesResponse } from './kdms.wire.js';

export interface RegistrationPage {
  registrations: DeviceRegistration[];
  /** Devices matching the filters over all pages; null when KDMS does not say. */
  totalCount: number | null;
  /** The `searchAfter` of the next page; null on the last page. */
  nextSearchAfter: string | null;
}

/** A device as read by the schema (absent attributes are already null) in Fleetgraph's words. */
export function toDeviceRegistration(device: KdmsDevice): DeviceRegistration {
  return {
    deviceId: device.deviceId,
    customerId: device.customerId,
    imei: device.imei,
    secondaryImei: device.secondaryImei,
    serialNumber: device.serialNumber,
    meid: device.meid,
    model: device.modelName,
    uploadId: device.uploadId,
    targetServices: [...device.targetServices],
    uploadedAt: device.uploadedAt,
  };
}

/**
 * One getDevices page. The paging KDMS documents is by device ID ("providing a device ID in searchAfter …
 * retrieves the next page of devices listed after the provided device ID"); `nextSearchAfter` is our
 * assumption, and like every optional field it may be absent or null. So a page without it continues
 * after its last device when it is full, and is the last page when it is short: a full last page costs
 * one more call, which answers no devices.
 */
export function toRegistrationPage(page: KdmsGetDevicesResponse, pageSize: number): RegistrationPage {
  const last = page.devices.at(-1);
  const full = last !== undefined && page.devices.length >= pageSize;
  return {
    registrations: page.devices.map(toDeviceRegistration),
    totalCount: page.totalCount,
    nextSearchAfter: page.nextSearchAfter ?? (full ? last.deviceId : null),
  };
}
