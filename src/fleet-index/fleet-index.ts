import type { ManagementStatus, Upstream } from '../domain/fleet.js';
import type { DeviceAccess, DeviceRegistration, FleetUser, ManagedDevice } from '../domain/fleet.js';
import {
  INDEX_SCHEMA_VERSION,
  SOURCE_COLUMNS,
  dropStatements,
  schemaStatements,
  stageTable,
} from './index-schema.js';
import type { SourceTable } from './index-schema.js';
import { accessRow, identifiersOfRow, managedRow, registrationRow, searchWords } from './index-rows.js';
import type { IndexRow } from './index-rows.js';
import type { SqlEngine, SqlReader, SqlValue, SqlWriter } from './sql-engine.js';

/**
 * The fleet index: a normalized mirror of the collections the APIs only give whole (Knox Manage devices
 * and users, Box devices) and of KDMS's registrations, in a real query engine (sql-engine.ts). Listings,
 * joins and `_entities` read it; the sync (fleet-sync.ts) fills it; targeted refreshes (a live read, our
 * own write, a webhook) change single records at once.
 */
export type IndexSource = 'kdms' | 'knoxManage' | 'knoxManageUsers' | 'box';
export const INDEX_SOURCES: readonly IndexSource[] = ['kdms', 'knoxManage', 'knoxManageUsers', 'box'];
export const TABLE_OF: Record<IndexSource, SourceTable> = {
  kdms: 'kdms_devices',
  knoxManage: 'km_devices',
  knoxManageUsers: 'km_users',
  box: 'box_devices',
};
/** The upstream each source is read from (for `upstreams { sync }`). */
export const UPSTREAM_OF: Record<IndexSource, Upstream> = {
  kdms: 'KDMS',
  knoxManage: 'KNOX_MANAGE',
  knoxManageUsers: 'KNOX_MANAGE',
  box: 'BOX',
};

export interface SourceSyncState {
  records: number;
  /** When its last full sync completed (ISO), or null before the first. */
  lastFullSyncAt: string | null;
  lastFullSyncMs: number | null;
  /** When a full sync was last tried, successful or not. */
  lastAttemptAt: string | null;
  /** Why the last full sync failed; null once one succeeds. */
  lastError: string | null;
}

/** A source before its first sync. */
export const NEVER_SYNCED: Readonly<SourceSyncState> = Object.freeze({
  records: 0,
  lastFullSyncAt: null,
  lastFullSyncMs: null,
  lastAttemptAt: null,
  lastError: null,
});

export interface SyncProgress {
  /** The replica syncing. */
  holder: string;
  startedAt: string;
  percent: number;
}

export interface DeviceIndexFilter {
  source?: Upstream;
  managementStatus?: ManagementStatus;
  userId?: string;
  loginBlocked?: boolean;
  model?: string;
  platform?: string;
  /** ISO 8601: Knox Manage devices last seen before this, or never. */
  notSeenSince?: string;
  search?: string;
}

export type DeviceOrderField = 'ID' | 'MODEL' | 'NAME' | 'STATUS' | 'LAST_CONNECTED_AT';
export interface DeviceIndexOrder {
  field: DeviceOrderField;
  direction: 'ASC' | 'DESC';
}

const SORT_COLUMN: Record<DeviceOrderField, string> = {
  ID: 'd.device_key',
  MODEL: 'd.model',
  NAME: 'd.name',
  STATUS: 'd.status',
  LAST_CONNECTED_AT: 'd.last_seen',
};

/** One joined device as the index holds it: each API's record, or null when that API does not hold it. */
export interface IndexedDevice {
  key: string;
  imei: string | null;
  serialNumber: string | null;
  registration: DeviceRegistration | null;
  managed: ManagedDevice | null;
  access: DeviceAccess | null;
  syncedAt: string;
  /** The sort column's value: with `key`, the position after this device. */
  sortValue: string;
}

export interface IndexedRecord<T> {
  record: T;
  syncedAt: string;
}

export class SearchTextError extends Error {}

export interface CountByValue {
  value: string | null;
  count: number;
}

export interface FleetSummaryData {
  total: number;
  bySource: CountByValue[];
  byManagementStatus: CountByValue[];
  byModel: CountByValue[];
}

/** Bound parameters per statement stay far below SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_ROWS_PER_INSERT = 500;
const MAX_IN_LIST = 500;

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class FleetIndex {
  constructor(
    readonly engine: SqlEngine,
    /** Identifies this process in the shared engine (sync lease, progress). */
    readonly replicaId: string,
  ) {}

  get shared(): boolean {
    return this.engine.dialect === 'postgres';
  }

  /**
   * Creates the tables, or drops an index of another schema version or other upstreams (`fingerprint`:
   * the upstream URLs). An index is a copy of the upstreams: dropping one costs a sync, never data.
   */
  async open(fingerprint: string): Promise<void> {
    const expected = JSON.stringify({ version: INDEX_SCHEMA_VERSION, fingerprint });
    // In one write transaction: replicas starting together on one PostgreSQL take turns (its
    // CREATE ... IF NOT EXISTS races with itself otherwise), and nobody sees half a schema.
    await this.engine.write(async (tx) => {
      for (const statement of schemaStatements(tx.dialect)) await tx.run(statement);
      const [stored] = await tx.all<{ value: string }>(
        `SELECT value FROM index_meta WHERE name = 'identity'`,
      );
      if (stored?.value === expected) return;
      if (stored) {
        for (const statement of dropStatements(tx.dialect)) await tx.run(statement);
        for (const statement of schemaStatements(tx.dialect)) await tx.run(statement);
      }
      await setMeta(tx, 'identity', expected);
    });
  }

  // ---------------------------------------------------------------- sync state

  async syncStates(): Promise<Record<IndexSource, SourceSyncState>> {
    const rows = await this.engine.all<{ name: string; value: string }>(
      `SELECT name, value FROM index_meta WHERE name LIKE 'source:%'`,
    );
    const stored = new Map(rows.map((r) => [r.name.slice('source:'.length), r.value]));
    return Object.fromEntries(
      INDEX_SOURCES.map((s) => [
        s,
        stored.has(s) ? (JSON.parse(stored.get(s)!) as SourceSyncState) : NEVER_SYNCED,
      ]),
    ) as Record<IndexSource, SourceSyncState>;
  }

  async progress(): Promise<SyncProgress | null> {
    const [row] = await this.engine.all<{ value: string }>(
      `SELECT value FROM index_meta WHERE name = 'progress'`,
    );
    return row ? (JSON.parse(row.value) as SyncProgress | null) : null;
  }

  setProgress(progress: SyncProgress | null): Promise<void> {
    return this.engine.write((tx) => setMeta(tx, 'progress', JSON.stringify(progress)));
  }

  /** Records that the source's full sync failed; its rows stay as they were. */
  recordFailure(source: IndexSource, error: string, attemptAt: string): Promise<void> {
    return this.engine.write(async (tx) => {
      const [row] = await tx.all<{ value: string }>(`SELECT value FROM index_meta WHERE name = ?`, [
        `source:${source}`,
      ]);
      const previous = row ? (JSON.parse(row.value) as SourceSyncState) : null;
      const state: SourceSyncState = {
        records: previous?.records ?? 0,
        lastFullSyncAt: previous?.lastFullSyncAt ?? null,
        lastFullSyncMs: previous?.lastFullSyncMs ?? null,
        lastAttemptAt: attemptAt,
        lastError: error,
      };
      await setMeta(tx, `source:${source}`, JSON.stringify(state));
    });
  }

  /**
   * A lease on the sync in the index's own engine: one replica syncs; the others see its progress. Held
   * until `expiresAt`, renewed while the sync runs; a replica that dies (kill -9) loses it when it expires.
   */
  async takeLease(ttlMs: number, now = Date.now()): Promise<boolean> {
    return this.engine.write(async (tx) => {
      const changed = await tx.run(
        `INSERT INTO index_lease (name, holder, expires_at) VALUES ('sync', ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE index_lease.holder = excluded.holder OR index_lease.expires_at < ?`,
        [this.replicaId, now + ttlMs, now],
      );
      return changed > 0;
    });
  }

  async releaseLease(): Promise<void> {
    await this.engine.write((tx) =>
      tx.run(`DELETE FROM index_lease WHERE name = 'sync' AND holder = ?`, [this.replicaId]),
    );
  }

  // ---------------------------------------------------------------- full sync (stage, then swap)

  async clearStage(source: IndexSource): Promise<void> {
    await this.engine.write((tx) => tx.run(`DELETE FROM ${stageTable(TABLE_OF[source])}`));
  }

  async stage(source: IndexSource, rows: readonly IndexRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.engine.write((tx) => upsertRows(tx, TABLE_OF[source], rows, stageTable(TABLE_OF[source])));
  }

  /**
   * Swaps the staged copies of `sources` in, re-applies targeted writes made since `startedAt` over them,
   * and rebuilds the joined devices: one transaction, so readers see the old index or the new, whole.
   */
  async swapIn(sources: readonly IndexSource[], startedAt: number, durationMs: number): Promise<void> {
    if (sources.length === 0) return;
    const now = new Date().toISOString();
    await this.engine.write(async (tx) => {
      for (const source of sources) {
        const table = TABLE_OF[source];
        const columns = SOURCE_COLUMNS[table].join(', ');
        await tx.run(`DELETE FROM ${table}`);
        await tx.run(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${stageTable(table)}`);
        await tx.run(`DELETE FROM ${stageTable(table)}`);
        const writes = await tx.all<{ record_key: string; record: string | null }>(
          `SELECT record_key, record FROM index_writes WHERE source = ? AND at >= ?`,
          [table, startedAt],
        );
        for (const write of writes) await applyWrite(tx, table, write.record_key, write.record, now);
        await tx.run(`DELETE FROM index_writes WHERE source = ? AND at < ?`, [table, startedAt]);
        const state: SourceSyncState = {
          records: await countOf(tx, `SELECT COUNT(*) AS n FROM ${table}`),
          lastFullSyncAt: now,
          lastFullSyncMs: durationMs,
          lastAttemptAt: now,
          lastError: null,
        };
        await setMeta(tx, `source:${source}`, JSON.stringify(state));
      }
      await rekey(tx, null);
      await tx.run(`DELETE FROM devices`);
      await buildDevices(tx, null);
      // Fresh statistics for the planner after a bulk change (about 0.2 s at 100,000 devices); PostgreSQL's
      // autovacuum would get there too, but only minutes later.
      await tx.run('ANALYZE');
      await bumpGeneration(tx);
    });
    this.engine.replan();
  }

  // ---------------------------------------------------------------- targeted refreshes

  /** A record read live, written by us or named by a webhook: in the index at once (and kept over a sync in flight). */
  async putRegistrations(records: readonly DeviceRegistration[]): Promise<void> {
    const now = new Date().toISOString();
    await this.refresh(
      'kdms_devices',
      records.map((r) => ({ key: r.deviceId, row: registrationRow(r, now) })),
      [],
    );
  }

  /** KDMS no longer holds these devices (a delete job succeeded for them). */
  async removeRegistrations(identifiers: readonly string[]): Promise<void> {
    const keys = await this.keysWhere('kdms_devices', 'device_id', identifiers);
    await this.refresh('kdms_devices', [], keys, identifiers);
  }

  async putManaged(record: ManagedDevice): Promise<void> {
    await this.refresh(
      'km_devices',
      [{ key: record.deviceId, row: managedRow(record, new Date().toISOString()) }],
      [],
    );
  }

  /** Knox Manage answered that it does not know the device named by `identifier`. */
  async removeManaged(identifier: string): Promise<void> {
    const keys = await this.keysWhere('km_devices', 'device_id', [identifier]);
    if (keys.length > 0) await this.refresh('km_devices', [], keys, [identifier]);
  }

  async putAccess(record: DeviceAccess): Promise<void> {
    await this.refresh(
      'box_devices',
      [{ key: record.cuid, row: accessRow(record, new Date().toISOString()) }],
      [],
    );
  }

  async removeAccess(cuid: string): Promise<void> {
    const [known] = await this.engine.all(`SELECT cuid FROM box_devices WHERE cuid = ?`, [cuid]);
    if (known) await this.refresh('box_devices', [], [cuid], [cuid]);
  }

  /** Primary keys of the rows of `table` that carry any of `identifiers`. */
  private async keysWhere(
    table: SourceTable,
    key: string,
    identifiers: readonly string[],
  ): Promise<string[]> {
    const found: string[] = [];
    for (const part of chunks(identifiers, MAX_IN_LIST)) {
      const list = placeholders(part.length);
      const rows = await this.engine.all<Record<string, string>>(
        `SELECT ${key} AS k FROM ${table} WHERE imei IN (${list}) OR secondary_imei IN (${list}) OR serial IN (${list})`,
        [...part, ...part, ...part],
      );
      found.push(...rows.map((r) => r.k!));
    }
    return found;
  }

  private async refresh(
    table: Exclude<SourceTable, 'km_users'>,
    puts: ReadonlyArray<{ key: string; row: IndexRow }>,
    removals: readonly string[],
    removedIdentifiers: readonly string[] = [],
  ): Promise<void> {
    if (puts.length === 0 && removals.length === 0) return;
    const at = Date.now();
    const pk = SOURCE_COLUMNS[table][0]!;
    // A live read that only confirms what the index holds writes nothing.
    if (removals.length === 0) {
      const held = new Map<string, string>();
      for (const part of chunks(
        puts.map((p) => p.key),
        MAX_IN_LIST,
      )) {
        const rows = await this.engine.all<{ k: string; record: string }>(
          `SELECT ${pk} AS k, record FROM ${table} WHERE ${pk} IN (${placeholders(part.length)})`,
          part,
        );
        for (const row of rows) held.set(row.k, row.record);
      }
      puts = puts.filter((p) => held.get(p.key) !== p.row.record);
      if (puts.length === 0) return;
    }
    await this.engine.write(async (tx) => {
      const identifiers = new Set<string>(removedIdentifiers);
      for (const { row } of puts) for (const id of identifiersOfRow(row)) identifiers.add(id);
      // The rows being replaced may carry identifiers the new record no longer has.
      for (const part of chunks(
        puts.map((p) => p.key),
        MAX_IN_LIST,
      )) {
        const old = await tx.all<IndexRow>(
          `SELECT * FROM ${table} WHERE ${pk} IN (${placeholders(part.length)})`,
          part,
        );
        for (const row of old) for (const id of identifiersOfRow(row)) identifiers.add(id);
      }
      const ids = [...identifiers];
      const before = await keysOfIdentifiers(tx, ids);
      if (puts.length)
        await upsertRows(
          tx,
          table,
          puts.map((p) => p.row),
        );
      for (const part of chunks(removals, MAX_IN_LIST))
        await tx.run(`DELETE FROM ${table} WHERE ${pk} IN (${placeholders(part.length)})`, part);
      for (const { key, row } of puts) await noteWrite(tx, table, key, row.record as string, at);
      for (const key of removals) await noteWrite(tx, table, key, null, at);
      await rekey(tx, ids);
      const after = await keysOfIdentifiers(tx, ids);
      const affected = [...new Set([...before, ...after])];
      for (const part of chunks(affected, MAX_IN_LIST))
        await tx.run(`DELETE FROM devices WHERE device_key IN (${placeholders(part.length)})`, part);
      await buildDevices(tx, affected);
      await bumpGeneration(tx);
    });
  }

  // ---------------------------------------------------------------- reads

  /** Knox Manage records by IMEI (primary or secondary) or serial number. */
  async managedBy(
    kind: 'imei' | 'serial',
    ids: readonly string[],
  ): Promise<Map<string, IndexedRecord<ManagedDevice>>> {
    const found = new Map<string, IndexedRecord<ManagedDevice>>();
    for (const part of chunks(ids, MAX_IN_LIST)) {
      const list = placeholders(part.length);
      const where =
        kind === 'imei' ? `imei IN (${list}) OR secondary_imei IN (${list})` : `serial IN (${list})`;
      const rows = await this.engine.all<{
        imei: string | null;
        secondary_imei: string | null;
        serial: string | null;
        record: string;
        synced_at: string;
      }>(
        `SELECT imei, secondary_imei, serial, record, synced_at FROM km_devices WHERE ${where}`,
        kind === 'imei' ? [...part, ...part] : part,
      );
      for (const row of rows) {
        const value = { record: JSON.parse(row.record) as ManagedDevice, syncedAt: row.synced_at };
        for (const id of kind === 'imei' ? [row.imei, row.secondary_imei] : [row.serial])
          if (id && !found.has(id)) found.set(id, value);
      }
    }
    return found;
  }

  async managedByOwner(userIds: readonly string[]): Promise<Map<string, ManagedDevice[]>> {
    const found = new Map<string, ManagedDevice[]>(userIds.map((id) => [id, []]));
    for (const part of chunks(userIds, MAX_IN_LIST)) {
      const rows = await this.engine.all<{ owner_user_id: string; record: string }>(
        `SELECT owner_user_id, record FROM km_devices WHERE owner_user_id IN (${placeholders(part.length)}) ORDER BY device_id`,
        part,
      );
      for (const row of rows) found.get(row.owner_user_id)?.push(JSON.parse(row.record) as ManagedDevice);
    }
    return found;
  }

  async accessBy(cuids: readonly string[]): Promise<Map<string, IndexedRecord<DeviceAccess>>> {
    const found = new Map<string, IndexedRecord<DeviceAccess>>();
    for (const part of chunks(cuids, MAX_IN_LIST)) {
      const rows = await this.engine.all<{ cuid: string; record: string; synced_at: string }>(
        `SELECT cuid, record, synced_at FROM box_devices WHERE cuid IN (${placeholders(part.length)})`,
        part,
      );
      for (const row of rows)
        found.set(row.cuid, { record: JSON.parse(row.record) as DeviceAccess, syncedAt: row.synced_at });
    }
    return found;
  }

  async usersBy(userIds: readonly string[]): Promise<Map<string, FleetUser>> {
    const found = new Map<string, FleetUser>();
    for (const part of chunks(userIds, MAX_IN_LIST)) {
      const rows = await this.engine.all<{ user_id: string; record: string }>(
        `SELECT user_id, record FROM km_users WHERE user_id IN (${placeholders(part.length)})`,
        part,
      );
      for (const row of rows) found.set(row.user_id, JSON.parse(row.record) as FleetUser);
    }
    return found;
  }

  /** Users in Knox Manage's order, `limit` from `start`, and how many there are. */
  async userPage(start: number, limit: number): Promise<{ items: FleetUser[]; total: number }> {
    const rows = await this.engine.all<{ record: string }>(
      `SELECT record FROM km_users ORDER BY position LIMIT ? OFFSET ?`,
      [limit, start],
    );
    const total = await this.cachedCount('users', () =>
      countOf(this.engine, `SELECT COUNT(*) AS n FROM km_users`),
    );
    return { items: rows.map((r) => JSON.parse(r.record) as FleetUser), total };
  }

  /** One page of joined devices after `after` (a sort value and key), in `order`. */
  async devicePage(
    filter: DeviceIndexFilter,
    order: DeviceIndexOrder,
    limit: number,
    after: { sortValue: string; key: string } | null,
  ): Promise<IndexedDevice[]> {
    const { where, params } = whereOf(this.engine, filter);
    const column = SORT_COLUMN[order.field];
    const direction = order.direction === 'DESC' ? 'DESC' : 'ASC';
    const conditions = [...where];
    const values: SqlValue[] = [...params];
    if (after) {
      conditions.push(
        order.field === 'ID'
          ? `d.device_key ${direction === 'ASC' ? '>' : '<'} ?`
          : `(${column}, d.device_key) ${direction === 'ASC' ? '>' : '<'} (?, ?)`,
      );
      values.push(...(order.field === 'ID' ? [after.key] : [after.sortValue, after.key]));
    }
    const orderBy =
      order.field === 'ID'
        ? `d.device_key ${direction}`
        : `${column} ${direction}, d.device_key ${direction}`;
    const rows = await this.engine.all<{
      device_key: string;
      imei: string | null;
      serial: string | null;
      synced_at: string;
      sort_value: string;
      kdms: string | null;
      km: string | null;
      box: string | null;
    }>(
      `SELECT d.device_key, d.imei, d.serial, d.synced_at, ${column} AS sort_value,
              k.record AS kdms, m.record AS km, b.record AS box
       FROM devices d
       LEFT JOIN kdms_devices k ON k.device_id = d.kdms_id
       LEFT JOIN km_devices m ON m.device_id = d.km_id
       LEFT JOIN box_devices b ON b.cuid = d.box_cuid
       ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY ${orderBy} LIMIT ?`,
      [...values, limit],
    );
    return rows.map((row) => ({
      key: row.device_key,
      imei: row.imei,
      serialNumber: row.serial,
      registration: row.kdms ? (JSON.parse(row.kdms) as DeviceRegistration) : null,
      managed: row.km ? (JSON.parse(row.km) as ManagedDevice) : null,
      access: row.box ? (JSON.parse(row.box) as DeviceAccess) : null,
      syncedAt: row.synced_at,
      sortValue: String(row.sort_value),
    }));
  }

  /**
   * Counts change only when the index does: each is kept for the index generation it was made in, so a
   * dashboard asking the same totals again costs a point read, not a count over the fleet.
   */
  private readonly counts = new Map<string, unknown>();
  private countsGeneration: string | null = null;

  private async cachedCount<T>(key: string, count: () => Promise<T>): Promise<T> {
    const [row] = await this.engine.all<{ value: string }>(
      `SELECT value FROM index_meta WHERE name = 'generation'`,
    );
    const generation = row?.value ?? '0';
    if (generation !== this.countsGeneration) {
      this.counts.clear();
      this.countsGeneration = generation;
    }
    if (this.counts.has(key)) return this.counts.get(key) as T;
    const value = await count();
    // Bounded: filters come from callers.
    if (this.counts.size >= 1000) this.counts.clear();
    this.counts.set(key, value);
    return value;
  }

  countDevices(filter: DeviceIndexFilter): Promise<number> {
    return this.cachedCount(`count:${JSON.stringify(filter)}`, () => this.countUncached(filter));
  }

  private async countUncached(filter: DeviceIndexFilter): Promise<number> {
    const { where, params } = whereOf(this.engine, filter);
    return countOf(
      this.engine,
      `SELECT COUNT(*) AS n FROM devices d ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      params,
    );
  }

  summary(filter: DeviceIndexFilter, models: number): Promise<FleetSummaryData> {
    return this.cachedCount(`summary:${models}:${JSON.stringify(filter)}`, () =>
      this.summaryUncached(filter, models),
    );
  }

  private async summaryUncached(filter: DeviceIndexFilter, models: number): Promise<FleetSummaryData> {
    const { where, params } = whereOf(this.engine, filter);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [totals] = await this.engine.all<Record<'total' | 'kdms' | 'km' | 'box', number | string | null>>(
      `SELECT COUNT(*) AS total,
              SUM(CASE WHEN d.kdms_id IS NOT NULL THEN 1 ELSE 0 END) AS kdms,
              SUM(CASE WHEN d.km_id IS NOT NULL THEN 1 ELSE 0 END) AS km,
              SUM(CASE WHEN d.box_cuid IS NOT NULL THEN 1 ELSE 0 END) AS box
       FROM devices d ${clause}`,
      params,
    );
    const grouped = async (column: string, limit: number | null) =>
      (
        await this.engine.all<{ value: string; n: number | string }>(
          `SELECT ${column} AS value, COUNT(*) AS n FROM devices d ${clause}
           GROUP BY ${column} ORDER BY COUNT(*) DESC, ${column} ${limit === null ? '' : `LIMIT ${limit}`}`,
          params,
        )
      ).map((r) => ({ value: r.value === '' ? null : r.value, count: Number(r.n) }));
    return {
      total: Number(totals?.total ?? 0),
      bySource: [
        { value: 'KDMS', count: Number(totals?.kdms ?? 0) },
        { value: 'KNOX_MANAGE', count: Number(totals?.km ?? 0) },
        { value: 'BOX', count: Number(totals?.box ?? 0) },
      ],
      byManagementStatus: await grouped('d.status', null),
      byModel: await grouped('d.model', models),
    };
  }
}

// ------------------------------------------------------------------ SQL helpers

/** A COUNT(*) AS n (PostgreSQL answers bigint as a string). */
async function countOf(reader: SqlReader, sql: string, params: readonly SqlValue[] = []): Promise<number> {
  const [row] = await reader.all<{ n: number | string }>(sql, params);
  return Number(row?.n ?? 0);
}

/** Every change to the devices makes a new generation (cached counts of older ones are void). */
async function bumpGeneration(tx: SqlWriter): Promise<void> {
  await setMeta(tx, 'generation', `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`);
}

async function setMeta(tx: SqlWriter, name: string, value: string): Promise<void> {
  await tx.run(
    `INSERT INTO index_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    [name, value],
  );
}

async function upsertRows(
  tx: SqlWriter,
  table: SourceTable,
  rows: readonly IndexRow[],
  into: string = table,
) {
  const columns = SOURCE_COLUMNS[table];
  const [key, ...rest] = columns;
  const row = `(${placeholders(columns.length)})`;
  for (const part of chunks(rows, MAX_ROWS_PER_INSERT)) {
    await tx.run(
      `INSERT INTO ${into} (${columns.join(', ')}) VALUES ${part.map(() => row).join(', ')}
       ON CONFLICT (${key}) DO UPDATE SET ${rest.map((c) => `${c} = excluded.${c}`).join(', ')}`,
      part.flatMap((r) => columns.map((c) => r[c] ?? null)),
    );
  }
}

/** Remembers a targeted write, so a full sync that read the record before it does not undo it. */
async function noteWrite(tx: SqlWriter, table: SourceTable, key: string, record: string | null, at: number) {
  await tx.run(
    `INSERT INTO index_writes (source, record_key, at, record) VALUES (?, ?, ?, ?)
     ON CONFLICT (source, record_key) DO UPDATE SET at = excluded.at, record = excluded.record`,
    [table, key, at, record],
  );
}

async function applyWrite(
  tx: SqlWriter,
  table: SourceTable,
  key: string,
  record: string | null,
  now: string,
) {
  const pk = SOURCE_COLUMNS[table][0]!;
  if (record === null) {
    await tx.run(`DELETE FROM ${table} WHERE ${pk} = ?`, [key]);
    return;
  }
  const parsed: unknown = JSON.parse(record);
  const row =
    table === 'kdms_devices'
      ? registrationRow(parsed as DeviceRegistration, now)
      : table === 'km_devices'
        ? managedRow(parsed as ManagedDevice, now)
        : accessRow(parsed as DeviceAccess, now);
  await upsertRows(tx, table, [row]);
}

/** Device keys of every source row that carries one of `ids`. */
async function keysOfIdentifiers(tx: SqlWriter, ids: readonly string[]): Promise<string[]> {
  const keys = new Set<string>();
  for (const part of chunks(ids, MAX_IN_LIST / 2)) {
    const list = placeholders(part.length);
    const rows = await tx.all<{ device_key: string | null }>(
      `SELECT device_key FROM kdms_devices WHERE imei IN (${list}) OR secondary_imei IN (${list}) OR serial IN (${list})
       UNION SELECT device_key FROM km_devices WHERE imei IN (${list}) OR secondary_imei IN (${list}) OR serial IN (${list})
       UNION SELECT device_key FROM box_devices WHERE cuid IN (${list})`,
      [...part, ...part, ...part, ...part, ...part, ...part, ...part],
    );
    for (const row of rows) if (row.device_key) keys.add(row.device_key);
  }
  return [...keys];
}

/**
 * Derives each source row's device key: `imei:<IMEI>`, else `sn:<serial>` — where a record without an IMEI
 * takes the IMEI another API pairs with its serial, and a Box cuid joins the device it is an identifier of.
 * `ids` limits the work to rows carrying those identifiers (a targeted refresh); null = every row.
 */
async function rekey(tx: SqlWriter, ids: readonly string[] | null): Promise<void> {
  const parts = ids === null ? [null] : chunks(ids, MAX_IN_LIST / 2);
  for (const part of parts) {
    const list = part ? placeholders(part.length) : '';
    const deviceRows = part
      ? ` WHERE imei IN (${list}) OR secondary_imei IN (${list}) OR serial IN (${list})`
      : '';
    const params = part ? [...part, ...part, ...part] : [];
    const keyFrom = (table: string, other: string) =>
      `UPDATE ${table} SET device_key = CASE
         WHEN imei IS NOT NULL THEN 'imei:' || imei
         ELSE COALESCE(
           (SELECT 'imei:' || o.imei FROM ${other} o WHERE o.serial = ${table}.serial AND o.imei IS NOT NULL LIMIT 1),
           'sn:' || serial)
       END${deviceRows}`;
    await tx.run(keyFrom('kdms_devices', 'km_devices'), params);
    await tx.run(keyFrom('km_devices', 'kdms_devices'), params);
    await tx.run(
      `UPDATE box_devices SET device_key = COALESCE(
         (SELECT k.device_key FROM kdms_devices k WHERE k.imei = box_devices.cuid LIMIT 1),
         (SELECT k.device_key FROM kdms_devices k WHERE k.secondary_imei = box_devices.cuid LIMIT 1),
         (SELECT k.device_key FROM kdms_devices k WHERE k.serial = box_devices.cuid LIMIT 1),
         (SELECT m.device_key FROM km_devices m WHERE m.imei = box_devices.cuid LIMIT 1),
         (SELECT m.device_key FROM km_devices m WHERE m.secondary_imei = box_devices.cuid LIMIT 1),
         (SELECT m.device_key FROM km_devices m WHERE m.serial = box_devices.cuid LIMIT 1),
         CASE WHEN cuid_is_imei = 1 THEN 'imei:' || cuid ELSE 'sn:' || cuid END)
       ${part ? `WHERE cuid IN (${list})` : ''}`,
      part ?? [],
    );
  }
}

/** (Re)inserts the joined devices of `keys` (null = all) from the source rows; their old rows are gone. */
async function buildDevices(tx: SqlWriter, keys: readonly string[] | null): Promise<void> {
  const oldest =
    tx.dialect === 'sqlite'
      ? `MIN(COALESCE(k.synced_at, '~'), COALESCE(m.synced_at, '~'), COALESCE(b.synced_at, '~'))`
      : `LEAST(k.synced_at, m.synced_at, b.synced_at)`;
  const parts = keys === null ? [null] : chunks(keys, MAX_IN_LIST);
  for (const part of parts) {
    if (part?.length === 0) continue;
    const only = part ? `AND device_key IN (${placeholders(part.length)})` : '';
    const params = part ? [...part, ...part, ...part] : [];
    await tx.run(
      `INSERT INTO devices (device_key, imei, serial, kdms_id, km_id, box_cuid, model, status, owner_user_id,
                            platform, login_blocked, name, last_seen, search_text, synced_at)
       SELECT keys.device_key,
              COALESCE(k.imei, m.imei, CASE WHEN b.cuid_is_imei = 1 THEN b.cuid END),
              COALESCE(k.serial, m.serial, CASE WHEN b.cuid_is_imei = 0 THEN b.cuid END),
              k.device_id, m.device_id, b.cuid,
              COALESCE(k.model, m.model, ''), COALESCE(m.status, ''), m.owner_user_id, m.platform,
              b.login_blocked, COALESCE(b.name, m.mobile_id, ''), COALESCE(m.last_seen, ''),
              COALESCE(k.search_terms, '') || ' ' || COALESCE(m.search_terms, '') || ' ' ||
                COALESCE(b.search_terms, '') || ' ' || COALESCE(u.search_terms, ''),
              ${oldest}
       FROM (SELECT device_key FROM kdms_devices WHERE device_key IS NOT NULL ${only}
             UNION SELECT device_key FROM km_devices WHERE device_key IS NOT NULL ${only}
             UNION SELECT device_key FROM box_devices WHERE device_key IS NOT NULL ${only}) keys
       LEFT JOIN kdms_devices k ON k.device_key = keys.device_key
       LEFT JOIN km_devices m ON m.device_key = keys.device_key
       LEFT JOIN box_devices b ON b.device_key = keys.device_key
       LEFT JOIN km_users u ON u.user_id = m.owner_user_id
       WHERE true
       ON CONFLICT (device_key) DO NOTHING`,
      params,
    );
  }
}

/** SQL conditions (on `devices d`) for a filter. Text search is each engine's own. */
function whereOf(reader: SqlReader, filter: DeviceIndexFilter): { where: string[]; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  // Columns of a few values (a status, a flag, a source) match much of the fleet: walking the sort order's
  // index and skipping rows beats sorting every match. SQLite has no statistics on their correlation with
  // the order, so its planner is told (a unary + keeps a column's index out of the plan); PostgreSQL's
  // statistics decide on their own.
  const few = (column: string) => (reader.dialect === 'sqlite' ? `+${column}` : column);
  if (filter.source === 'KDMS') where.push(`${few('d.kdms_id')} IS NOT NULL`);
  if (filter.source === 'KNOX_MANAGE') where.push(`${few('d.km_id')} IS NOT NULL`);
  if (filter.source === 'BOX') where.push(`${few('d.box_cuid')} IS NOT NULL`);
  const equal = (column: string, value: SqlValue | undefined) => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    params.push(value);
  };
  equal(few('d.status'), filter.managementStatus);
  equal('d.owner_user_id', filter.userId);
  equal(few('d.login_blocked'), filter.loginBlocked === undefined ? undefined : filter.loginBlocked ? 1 : 0);
  equal('d.model', filter.model);
  equal(few('d.platform'), filter.platform);
  if (filter.notSeenSince !== undefined) {
    where.push(`d.km_id IS NOT NULL AND d.last_seen < ?`);
    params.push(filter.notSeenSince);
  }
  if (filter.search !== undefined) {
    const words = searchWords(filter.search).split(' ').filter(Boolean);
    if (words.length === 0) throw new SearchTextError('search needs at least one letter or digit');
    if (reader.dialect === 'sqlite') {
      where.push(`d.rowid IN (SELECT rowid FROM devices_fts WHERE devices_fts MATCH ?)`);
      params.push(words.map((w) => `"${w}"*`).join(' '));
    } else {
      where.push(`to_tsvector('simple', d.search_text) @@ to_tsquery('simple', ?)`);
      params.push(words.map((w) => `${w}:*`).join(' & '));
    }
  }
  return { where, params };
}
