import type { z } from 'zod';
import type { DeviceAccess, DeviceApp, DeviceAppUser } from '../../domain/fleet.js';
import type { BoxAppRecord, BoxDeviceRecord, BoxDeviceUserRecord } from './box.wire.js';

/**
 * Box records as read (box.wire.ts) → domain values. Box's spellings stop here: `disabled` becomes
 * `loginBlocked`, `blacklisted` becomes `purgeAppDataOnNextLogin`. A value Box did not send stays null:
 * "not blocked" is a claim only Box can make.
 */

export function toDeviceAccess(record: z.output<typeof BoxDeviceRecord>): DeviceAccess {
  return {
    guid: record.guid,
    cuid: record.fields.cuid,
    name: record.fields.name,
    loginBlocked: record.fields.disabled,
    purgeAppDataOnNextLogin: record.fields.blacklisted,
  };
}

export function toDeviceApp(record: z.output<typeof BoxAppRecord>): DeviceApp {
  return { id: record.guid, name: record.fields.name, description: record.fields.description };
}

export function toDeviceAppUser(record: z.output<typeof BoxDeviceUserRecord>): DeviceAppUser {
  return { userId: record.fields.userId, email: record.fields.email };
}
