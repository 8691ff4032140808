import { withLuhnCheckDigit } from '../../domain/device-identifiers.js';
import type { KnoxManageDeviceStatus } from '../../upstreams/knox-manage/knox-manage.wire.js';
import { createSeededRandom } from '../core/seeded-random.js';
import type { SeededRandom } from '../core/seeded-random.js';

/**
 * One fleet that the three emulators share, generated from a seed: the same seed and size always give
 * the same devices, users and apps, so tests and the benchmark can name expected records.
 *
 * Membership mirrors a real estate in transition: most devices are known to all three systems, some to
 * two, a few to one (a phone uploaded to KDMS but never enrolled, a tablet only in Box, …).
 */

export interface SeededFleetOptions {
  /** Number of devices (default 1,000). */
  size?: number;
  /** Any string or number (default "fleetgraph"). */
  seed?: string | number;
}

export interface SeededKdmsRecord {
  deviceId: string;
  uploadId: string;
  uploadedAt: string;
}

export interface SeededKnoxManageRecord {
  deviceId: string;
  mobileId: string;
  status: KnoxManageDeviceStatus;
  ownerUserId: string;
  phone: string;
  lastConnectedAt: number;
  tags: string[];
  platform: 'A';
}

export interface SeededBoxRecord {
  guid: string;
  cuid: string;
  name: string;
  disabled: boolean;
  blacklisted: boolean;
  appGuids: string[];
  userIds: string[];
  createdAt: number;
}

export interface SeededDevice {
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string;
  meid: string | null;
  model: string;
  modelName: string;
  kdms: SeededKdmsRecord | null;
  knoxManage: SeededKnoxManageRecord | null;
  box: SeededBoxRecord | null;
}

export interface SeededUser {
  userId: string;
  userName: string;
  email: string;
  status: 'A' | 'I';
  orgName: string;
  orgCode: string;
  /** Box keeps its own guid for the same person. */
  boxGuid: string;
}

export interface SeededApp {
  guid: string;
  name: string;
  description: string;
}

export interface SeededFleet {
  seed: string;
  /** The KDMS customer (tenant) every seeded device belongs to. */
  customerId: string;
  devices: SeededDevice[];
  users: SeededUser[];
  apps: SeededApp[];
  /** Valid IMEIs that KDMS holds for another customer: uploading one fails with IMEI_EXIST_IN_DIFFERENT_ACCOUNT. */
  foreignImeis: string[];
}

/** Every seeded Knox Manage user signs in with this password (it meets the documented rules). */
export const SEEDED_USER_PASSWORD = 'Fleetgraph-dev-1!';

const MODELS: ReadonlyArray<readonly [model: string, name: string, tac: string]> = [
  ['SM-S928B', 'Galaxy S24 Ultra', '35068772'],
  ['SM-S921B', 'Galaxy S24', '35068672'],
  ['SM-S911B', 'Galaxy S23', '35123499'],
  ['SM-A546B', 'Galaxy A54 5G', '35467227'],
  ['SM-A356B', 'Galaxy A35 5G', '35098577'],
  ['SM-G991B', 'Galaxy S21 5G', '35270911'],
  ['SM-G736B', 'Galaxy XCover6 Pro', '35332613'],
  ['SM-X306B', 'Galaxy Tab Active4 Pro', '35254426'],
  ['SM-T575', 'Galaxy Tab Active3', '35394711'],
  ['SM-F946B', 'Galaxy Z Fold5', '35004615'],
];
const FIRST_NAMES = [
  'ana',
  'ben',
  'chloe',
  'dev',
  'elif',
  'farah',
  'goran',
  'hana',
  'ivan',
  'jun',
  'kofi',
  'lena',
];
const LAST_NAMES = [
  'alvarez',
  'brown',
  'chen',
  'diallo',
  'eriksen',
  'fischer',
  'garcia',
  'haddad',
  'ito',
  'jones',
];
const ORGS: ReadonlyArray<readonly [code: string, name: string]> = [
  ['ORG-OPS', 'Operations'],
  ['ORG-FIELD', 'Field Service'],
  ['ORG-SALES', 'Sales'],
  ['ORG-HQ', 'Head Office'],
];
const APP_NAMES: ReadonlyArray<readonly [name: string, description: string]> = [
  ['Field Orders', 'Create and track customer orders on site'],
  ['Route Planner', 'Daily delivery routes with offline maps'],
  ['Asset Scanner', 'Barcode and RFID asset check-in'],
  ['Timesheets', 'Clock in, clock out and approve hours'],
  ['Safety Checklist', 'Pre-shift vehicle and site inspections'],
  ['Knowledge Base', 'Offline manuals and troubleshooting guides'],
  ['Expense Capture', 'Photograph receipts and file expenses'],
  ['Work Orders', 'Job tickets for field technicians'],
  ['Inventory', 'Warehouse stock counts and transfers'],
  ['Chat', 'Team messaging'],
  ['Proof of Delivery', 'Signatures and photos at the door'],
  ['Training', 'Short courses and certifications'],
  ['Incident Report', 'Report incidents with photos and location'],
  ['Customer Survey', 'Collect feedback after a visit'],
  ['Fleet Fuel', 'Fuel card and mileage log'],
  ['Directory', 'Company phone book'],
];
const TAGS = ['kiosk', 'field-sales', 'warehouse', 'executive', 'loaner', 'dedicated'];
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const HEX = '0123456789abcdef';
const SERIAL_ALPHABET = 'ABCDEFGHJKLMNPQRSTVWXYZ0123456789';
/** Fixed instants keep the fleet deterministic: nothing depends on the day it is generated. */
const FLEET_EPOCH = Date.parse('2026-01-05T09:00:00Z');
const LAST_SEEN_EPOCH = Date.parse('2026-11-01T00:00:00Z');

type Membership = readonly [kdms: boolean, knoxManage: boolean, box: boolean];

/** Cumulative shares of each membership pattern. */
const MEMBERSHIPS: ReadonlyArray<readonly [upTo: number, membership: Membership]> = [
  [0.6, [true, true, true]],
  [0.72, [true, true, false]],
  [0.82, [false, true, true]],
  [0.87, [true, false, true]],
  [0.92, [true, false, false]],
  [0.96, [false, true, false]],
  [1, [false, false, true]],
];

function uuidFrom(random: SeededRandom): string {
  const h = random.fromAlphabet(HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function uniqueValue(taken: Set<string>, make: () => string): string {
  for (;;) {
    const value = make();
    if (!taken.has(value)) {
      taken.add(value);
      return value;
    }
  }
}

export function createSeededFleet(options: SeededFleetOptions = {}): SeededFleet {
  const size = options.size ?? 1000;
  const seed = String(options.seed ?? 'fleetgraph');
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`fleet size must be a whole number ≥ 0, got ${size}`);
  const random = createSeededRandom(seed);
  const identifiers = new Set<string>();
  const internalIds = new Set<string>();

  const apps: SeededApp[] = APP_NAMES.map(([name, description]) => ({
    guid: uniqueValue(internalIds, () => random.fromAlphabet(BASE32, 24)),
    name,
    description,
  }));

  const userCount = Math.max(1, Math.round(size / 4));
  const userIds = new Set<string>();
  const users: SeededUser[] = [];
  for (let i = 0; i < userCount; i++) {
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const userId = uniqueValue(userIds, () => `${first}.${last}${random.int(1, 999)}`);
    const [orgCode, orgName] = random.pick(ORGS);
    users.push({
      userId,
      userName: `${first[0]?.toUpperCase()}${first.slice(1)} ${last[0]?.toUpperCase()}${last.slice(1)}`,
      email: `${userId}@fleetgraph.test`,
      status: random.chance(0.95) ? 'A' : 'I',
      orgName,
      orgCode,
      boxGuid: uniqueValue(internalIds, () => random.fromAlphabet(BASE32, 24)),
    });
  }

  const newImei = (tac: string): string =>
    uniqueValue(identifiers, () => withLuhnCheckDigit(tac + random.digits(6)));
  const uploadIds = Array.from({ length: Math.max(1, Math.ceil(size / 250)) }, () => uuidFrom(random));

  const devices: SeededDevice[] = [];
  for (let i = 0; i < size; i++) {
    const [model, modelName, tac] = random.pick(MODELS);
    const roll = random.next();
    const membership = (MEMBERSHIPS.find(([upTo]) => roll < upTo) ?? MEMBERSHIPS[0])![1];
    // About one device in ten is a Wi-Fi-only tablet known by its serial number alone.
    const hasImei = !model.startsWith('SM-X') || random.chance(0.3);
    const imei = hasImei ? newImei(tac) : null;
    const secondaryImei = imei && random.chance(0.35) ? newImei(tac) : null;
    const serialNumber = uniqueValue(
      identifiers,
      () => `R${random.pick(['5', '3', 'F'])}${random.fromAlphabet(SERIAL_ALPHABET, 9)}`,
    );
    const meid = imei && random.chance(0.1) ? imei.slice(0, 14) : null;
    const owner = random.pick(users);

    const kdms: SeededKdmsRecord | null = membership[0]
      ? {
          deviceId: uniqueValue(internalIds, () => random.fromAlphabet(HEX, 24)),
          uploadId: uploadIds[Math.floor(i / 250)] ?? uploadIds[0]!,
          uploadedAt: new Date(FLEET_EPOCH + i * 60_000).toISOString(),
        }
      : null;

    const knoxManage: SeededKnoxManageRecord | null = membership[1]
      ? {
          deviceId: uniqueValue(internalIds, () => random.fromAlphabet(HEX, 32)),
          mobileId: `${model.replace('SM-', '').toLowerCase()}_Android_${random.int(12, 15)}`,
          status: random.pick<KnoxManageDeviceStatus>([
            'A',
            'A',
            'A',
            'A',
            'A',
            'A',
            'A',
            'A',
            'A',
            'P',
            'I',
            'BA',
            'BS',
            'BL',
            'B',
          ]),
          ownerUserId: owner.userId,
          phone: `+4470${random.digits(8)}`,
          lastConnectedAt: LAST_SEEN_EPOCH - random.int(0, 30 * 24 * 3600) * 1000,
          tags: random.sample(TAGS, random.int(0, 2)),
          platform: 'A',
        }
      : null;

    const box: SeededBoxRecord | null = membership[2]
      ? {
          guid: uniqueValue(internalIds, () => random.fromAlphabet(BASE32, 24)),
          cuid: imei ?? serialNumber,
          name: `${modelName} (${owner.userName})`,
          disabled: random.chance(0.05),
          blacklisted: random.chance(0.02),
          appGuids: random.sample(apps, random.int(1, 6)).map((app) => app.guid),
          userIds: [...new Set([owner.userId, ...(random.chance(0.3) ? [random.pick(users).userId] : [])])],
          createdAt: FLEET_EPOCH + i * 90_000,
        }
      : null;

    devices.push({ imei, secondaryImei, serialNumber, meid, model, modelName, kdms, knoxManage, box });
  }

  const foreignImeis = Array.from({ length: 25 }, () => newImei(random.pick(MODELS)[2]));
  return { seed, customerId: '7000' + random.digits(6), devices, users, apps, foreignImeis };
}
