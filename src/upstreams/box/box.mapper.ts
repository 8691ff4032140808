import type { DeviceAccess, DeviceApp, DeviceAppUser } from '../../domain/fleet.js';
import type { BoxAppRecord, BoxDeviceRecord, BoxDeviceUserRecord } from './box.wire.js';

export function toDeviceAccess(record: BoxDeviceRecord): DeviceAccess {
  return {
    guid: record.guid,
    cuid: record.fields.cuid,
    name: record.fields.name,
    loginBlocked: record.fields.disabled === true,
    purgeAppDataOnNextLogin: record.fields.blacklisted === true,
  };
}

export function toDeviceApp(record: BoxAppRecord): DeviceApp {
  return { id: record.guid, name: record.fields.name, description: record.fields.description || null };
}

export function toDeviceAppUser(record: BoxDeviceUserRecord): DeviceAppUser {
  return { userId: record.fields.userId, email: record.fields.email || null };
}
