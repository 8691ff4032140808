import { FleetIndex, INDEX_SOURCES } from '../../../src/fleet-index/fleet-index.js';
import { accessRow, managedRow } from '../../../src/fleet-index/index-rows.js';
import { SqliteEngine } from '../../../src/fleet-index/sql-engine.js';
import type { SqlEngine } from '../../../src/fleet-index/sql-engine.js';
import type { ManagedDevice } from '../../../src/domain/fleet.js';
import { withLuhnCheckDigit } from '../../../src/domain/device-identifiers.js';

/**
 * The index's lookups stay index lookups as the fleet grows from a few hundred devices to tens of
 * thousands between two syncs: requests read through a second SQLite connection, which plans with the
 * statistics it loaded; after a sync's ANALYZE it must plan with the new ones (a reader left with a
 * small fleet's statistics scanned all 86,000 Knox Manage rows per `_entities` batch: 39 ms, not 6).
 * Read through the plans SQLite reports for the very statements the index runs.
 */
const imeiOf = (i: number) => withLuhnCheckDigit(`35${String(i).padStart(12, '0')}`);
const managed = (i: number): ManagedDevice => ({
  deviceId: `km-${i}`,
  mobileId: `device_${i}`,
  imei: imeiOf(i),
  secondaryImei: null,
  serialNumber: `R5${String(i).padStart(9, '0')}`,
  status: 'ACTIVATED',
  ownerUserId: `user.${i % 50}`,
  phoneNumber: null,
  model: 'SM-S921B',
  modelName: 'Galaxy S24',
  platform: 'A',
  lastConnectedAt: null,
  updatedAt: new Date(1_790_000_000_000 - i * 60_000).toISOString(),
  tags: [],
  organization: null,
});

let real: SqliteEngine;
let index: FleetIndex;
/** The plan of each lookup of a source table the index made, in order. */
const plans: string[][] = [];

beforeAll(async () => {
  real = SqliteEngine.open('memory');
  const recording: SqlEngine = {
    dialect: 'sqlite',
    description: real.description,
    replan: () => real.replan(),
    write: (work) => real.write(work),
    close: () => real.close(),
    async all<T>(sql: string, params: readonly (string | number | null)[] = []) {
      const rows = await real.all<T>(sql, params);
      if (/FROM (km|box)_devices WHERE/.test(sql)) {
        const plan = await real.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
        plans.push(plan.map((p) => p.detail));
      }
      return rows;
    },
  };
  index = new FleetIndex(recording, 'plans-test');
  await index.open('plans');
});

afterAll(() => real?.close());

async function syncWith(devices: number): Promise<void> {
  const at = new Date().toISOString();
  const all = Array.from({ length: devices }, (_, i) => managed(i));
  await index.stage(
    'knoxManage',
    all.map((m) => managedRow(m, at)),
  );
  await index.stage(
    'box',
    all.map((m) =>
      accessRow(
        {
          guid: `g${m.deviceId}`,
          cuid: m.imei!,
          name: null,
          loginBlocked: false,
          purgeAppDataOnNextLogin: false,
        },
        at,
      ),
    ),
  );
  await index.swapIn(INDEX_SOURCES, Date.now(), 1);
}

async function lookups(): Promise<string[][]> {
  plans.length = 0;
  const ids = Array.from({ length: 100 }, (_, i) => imeiOf(i * 3));
  const [byImei, access] = await Promise.all([index.managedBy('imei', ids), index.accessBy(ids)]);
  expect(byImei.size).toBe(100);
  expect(access.size).toBe(100);
  return [...plans];
}

it('looks devices up by index, not by scanning, after the fleet grows 60-fold between syncs', async () => {
  await syncWith(500);
  await lookups(); // statements prepared, statistics loaded, for 500 devices
  await syncWith(30_000);
  const after = await lookups();
  expect(after.length).toBeGreaterThanOrEqual(2);
  for (const plan of after) {
    expect(plan.join(' | ')).toMatch(/USING (COVERING )?INDEX/);
    expect(plan.join(' | ')).not.toMatch(/^SCAN (km|box)_devices|\| SCAN (km|box)_devices/);
  }
}, 60_000);
