import type { SqlDialect } from './sql-engine.js';

/**
 * The fleet index's tables. Each API's records are stored one row each (the record as JSON, plus the
 * columns it is found and filtered by); `devices` is the three joined by identity (IMEI, else serial
 * number; a Box cuid joins the device whose IMEI or serial it is), rebuilt in SQL from them, so
 * listing, filtering, sorting, counting and search are single queries on one indexed table.
 *
 * A full sync fills `stage_*` copies and swaps them in with the rebuild, in one transaction: readers see
 * the last good index until the new one is whole, and a sync that fails leaves it untouched.
 */
// 2: platform codes stored canonical (trimmed, upper case); an index of version 1 is dropped and re-synced.
export const INDEX_SCHEMA_VERSION = 2;

export type SourceTable = 'kdms_devices' | 'km_devices' | 'box_devices' | 'km_users';

/** Columns of each source table, in insert order; the first is its primary key. */
export const SOURCE_COLUMNS: Record<SourceTable, readonly string[]> = {
  kdms_devices: [
    'device_id',
    'imei',
    'secondary_imei',
    'serial',
    'model',
    'search_terms',
    'record',
    'synced_at',
  ],
  km_devices: [
    'device_id',
    'imei',
    'secondary_imei',
    'serial',
    'model',
    'status',
    'owner_user_id',
    'platform',
    'mobile_id',
    'last_seen',
    'search_terms',
    'record',
    'synced_at',
  ],
  box_devices: ['cuid', 'cuid_is_imei', 'name', 'login_blocked', 'search_terms', 'record', 'synced_at'],
  km_users: ['user_id', 'position', 'search_terms', 'record', 'synced_at'],
};

/** Integer-typed columns; every other column is text. */
const INTEGER_COLUMNS = new Set(['cuid_is_imei', 'login_blocked', 'position']);

function sourceTableDdl(table: SourceTable, name: string = table): string {
  const [key, ...rest] = SOURCE_COLUMNS[table];
  const columns = rest.map((c) => `${c} ${INTEGER_COLUMNS.has(c) ? 'INTEGER' : 'TEXT'}`);
  // device_key is derived after load (it depends on the other APIs' records): not a loaded column.
  const derived = table === 'km_users' ? [] : ['device_key TEXT'];
  return `CREATE TABLE IF NOT EXISTS ${name} (${key} TEXT PRIMARY KEY, ${[...columns, ...derived].join(', ')})`;
}

export const stageTable = (table: SourceTable) => `stage_${table}`;

export function schemaStatements(dialect: SqlDialect): string[] {
  const statements = [
    `CREATE TABLE IF NOT EXISTS index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS index_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
    // Targeted refreshes (live reads, our writes, webhooks) made while a full sync ran: re-applied over
    // the sync's older copy when it swaps in, so a sync never undoes a newer write.
    `CREATE TABLE IF NOT EXISTS index_writes (source TEXT NOT NULL, record_key TEXT NOT NULL, at BIGINT NOT NULL, record TEXT, PRIMARY KEY (source, record_key))`,
    ...(['kdms_devices', 'km_devices', 'box_devices', 'km_users'] as const).flatMap((t) => [
      sourceTableDdl(t),
      sourceTableDdl(t, stageTable(t)),
    ]),
    `CREATE INDEX IF NOT EXISTS kdms_imei ON kdms_devices (imei)`,
    `CREATE INDEX IF NOT EXISTS kdms_secondary_imei ON kdms_devices (secondary_imei)`,
    `CREATE INDEX IF NOT EXISTS kdms_serial ON kdms_devices (serial)`,
    `CREATE INDEX IF NOT EXISTS kdms_key ON kdms_devices (device_key)`,
    `CREATE INDEX IF NOT EXISTS km_imei ON km_devices (imei)`,
    `CREATE INDEX IF NOT EXISTS km_secondary_imei ON km_devices (secondary_imei)`,
    `CREATE INDEX IF NOT EXISTS km_serial ON km_devices (serial)`,
    `CREATE INDEX IF NOT EXISTS km_key ON km_devices (device_key)`,
    `CREATE INDEX IF NOT EXISTS km_owner ON km_devices (owner_user_id)`,
    `CREATE INDEX IF NOT EXISTS box_key ON box_devices (device_key)`,
    `CREATE INDEX IF NOT EXISTS users_position ON km_users (position)`,
    `CREATE TABLE IF NOT EXISTS devices (
       device_key TEXT PRIMARY KEY,
       imei TEXT,
       serial TEXT,
       kdms_id TEXT,
       km_id TEXT,
       box_cuid TEXT,
       model TEXT NOT NULL,
       status TEXT NOT NULL,
       owner_user_id TEXT,
       platform TEXT,
       login_blocked INTEGER,
       name TEXT NOT NULL,
       last_seen TEXT NOT NULL,
       search_text TEXT NOT NULL,
       synced_at TEXT NOT NULL
     )`,
    // Each sort order pages by (column, device_key): these make a page an index range scan.
    `CREATE INDEX IF NOT EXISTS devices_model ON devices (model, device_key)`,
    `CREATE INDEX IF NOT EXISTS devices_status ON devices (status, device_key)`,
    `CREATE INDEX IF NOT EXISTS devices_name ON devices (name, device_key)`,
    `CREATE INDEX IF NOT EXISTS devices_last_seen ON devices (last_seen, device_key)`,
    `CREATE INDEX IF NOT EXISTS devices_owner ON devices (owner_user_id)`,
    `CREATE INDEX IF NOT EXISTS devices_kdms ON devices (kdms_id)`,
    `CREATE INDEX IF NOT EXISTS devices_km ON devices (km_id)`,
    `CREATE INDEX IF NOT EXISTS devices_box ON devices (box_cuid)`,
  ];
  if (dialect === 'sqlite') {
    statements.push(
      // FTS5 over the devices' search text, kept in step by triggers (devices rows are only inserted and deleted).
      `CREATE VIRTUAL TABLE IF NOT EXISTS devices_fts USING fts5(search_text, content='devices', content_rowid='rowid')`,
      `CREATE TRIGGER IF NOT EXISTS devices_fts_insert AFTER INSERT ON devices BEGIN
         INSERT INTO devices_fts (rowid, search_text) VALUES (new.rowid, new.search_text); END`,
      `CREATE TRIGGER IF NOT EXISTS devices_fts_delete AFTER DELETE ON devices BEGIN
         INSERT INTO devices_fts (devices_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END`,
    );
  } else {
    statements.push(
      `CREATE INDEX IF NOT EXISTS devices_search ON devices USING GIN (to_tsvector('simple', search_text))`,
    );
  }
  return statements;
}

/** Every table, for a schema change (the index is a cache of the upstreams: dropped and re-synced). */
export function dropStatements(dialect: SqlDialect): string[] {
  const tables = [
    'index_meta',
    'index_lease',
    'index_writes',
    'devices',
    ...(['kdms_devices', 'km_devices', 'box_devices', 'km_users'] as const).flatMap((t) => [
      t,
      stageTable(t),
    ]),
  ];
  return [
    ...(dialect === 'sqlite' ? ['DROP TABLE IF EXISTS devices_fts'] : []),
    ...tables.map((t) => `DROP TABLE IF EXISTS ${t}`),
  ];
}
