import type { DeviceRegistration } from '../../domain/fleet.js';
import type { KdmsDevice } from './kdms.wire.js';

export function toDeviceRegistration(device: KdmsDevice): DeviceRegistration {
  return {
    deviceId: device.deviceId,
    customerId: device.customerId,
    imei: device.imei || null,
    secondaryImei: device.secondaryImei || null,
    serialNumber: device.serialNumber || null,
    meid: device.meid || null,
    model: device.modelName || null,
    uploadId: device.uploadId,
    targetServices: [...device.targetServices],
    uploadedAt: new Date(device.uploadedAt).toISOString(),
  };
}
