import { withLuhnCheckDigit } from '../../src/domain/device-identifiers.js';
import { DEV_CREDENTIALS } from '../../src/emulators/dev-credentials.js';
import { SEEDED_USER_PASSWORD } from '../../src/emulators/fleet/seeded-fleet.js';
import { startEmulators } from '../../src/emulators/start-emulators.js';
import type { RunningEmulators, StartEmulatorsOptions } from '../../src/emulators/start-emulators.js';
import type { BoxContractTarget } from '../contract/box.contract.js';
import type { KdmsContractTarget } from '../contract/kdms.contract.js';
import type { KnoxManageContractTarget } from '../contract/knox-manage.contract.js';

/** Emulators on free ports, with a fast async delay so webhook tests settle quickly. */
export function startTestEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  return startEmulators({
    ports: { kdms: 0, knoxManage: 0, box: 0 },
    ...options,
    kdms: { ...options.kdms, async: { asyncDelayMs: 50, webhookRetryDelayMs: 20, ...options.kdms?.async } },
  });
}

let freshCounter = 0;
/** IMEIs under a TAC the seeded fleet never uses, so they are new to every emulator. */
export function freshImeis(count: number): string[] {
  return Array.from({ length: count }, () =>
    withLuhnCheckDigit(`990000${String(freshCounter++).padStart(8, '0')}`),
  );
}

export function kdmsTarget(e: RunningEmulators): KdmsContractTarget {
  const devices = e.fleet.devices.filter((d) => d.kdms);
  const known = devices.find((d) => d.imei && d.secondaryImei)!;
  return {
    apiUrl: `${e.urls.kdms}/kdms/v1`,
    tokenUrl: `${e.urls.kdms}/ams/v1/oauth2/token`,
    kwnUrl: e.urls.kdms,
    ...DEV_CREDENTIALS.kdms,
    expectedDeviceKeys: devices.map((d) => d.imei ?? d.serialNumber),
    knownDevice: { imei: known.imei!, secondaryImei: known.secondaryImei, serialNumber: known.serialNumber },
    freshImeis,
    foreignImei: e.fleet.foreignImeis[0]!,
    asyncDelayMs: e.kdms.asyncSettings.asyncDelayMs,
  };
}

export function knoxManageTarget(e: RunningEmulators): KnoxManageContractTarget {
  const devices = e.fleet.devices.filter((d) => d.knoxManage);
  const known = devices.find((d) => d.imei)!;
  const activeUser = e.fleet.users.find((u) => u.status === 'A')!;
  return {
    url: e.urls.knoxManage,
    ...DEV_CREDENTIALS.knoxManage,
    expectedDeviceIds: devices.map((d) => d.knoxManage!.deviceId),
    knownDevice: {
      imei: known.imei!,
      serialNumber: known.serialNumber,
      userId: known.knoxManage!.ownerUserId,
    },
    expectedUserCount: e.fleet.users.length,
    user: { userId: activeUser.userId, password: SEEDED_USER_PASSWORD },
  };
}

export function boxTarget(e: RunningEmulators): BoxContractTarget {
  const cuids = e.fleet.devices.flatMap((d) => (d.box ? [d.box.cuid] : []));
  return {
    url: e.urls.box,
    apiKey: DEV_CREDENTIALS.box.apiKey,
    expectedCuids: cuids,
    writableCuid: cuids[cuids.length - 1]!,
  };
}
