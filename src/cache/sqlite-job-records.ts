import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { ConfigError } from '../config/config.js';
import { SharedStoreError } from './errors.js';
import { EARLY_EVENT_TTL_MS, SEEN_EVENT_TTL_MS } from './job-records.js';
import type { JobEntry, JobRecords, JobRow } from './job-records.js';

/**
 * Upload jobs in SQLite (better-sqlite3), the store of a Fleetgraph without CACHE_URL: one row per job,
 * each change one transaction in a write-ahead log with `synchronous=FULL`, so a `kill -9` (or a power
 * cut) at any instant leaves every acknowledged job in place and at most an unfinished transaction
 * rolled back. Nothing is rewritten whole: a change writes the pages of its row and its indexes.
 *
 * A store that cannot be read is never replaced by an empty one: start-up fails, saying so
 * (`JobStoreUnreadableError`). One process owns the file (SQLite's exclusive locking mode); a second
 * Fleetgraph on the same file refuses to start rather than interleave with the first.
 */
export class JobStoreUnreadableError extends ConfigError {
  constructor(
    path: string,
    reason: string,
    advice = 'Fleetgraph does not start with an empty store in its place, which would lose every job it holds: ' +
      `restore the file (and ${path}-wal beside it, if there is one) from a backup, or move them aside to start with no jobs`,
  ) {
    super([`JOB_STORE_FILE (${path}) cannot be used as Fleetgraph's upload-job store: ${reason}. ${advice}`]);
    this.name = 'JobStoreUnreadableError';
  }
}

/** "FGJS" in the file header: this SQLite file is a Fleetgraph job store. */
const APPLICATION_ID = 0x46474a53;
const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    upload_id TEXT UNIQUE,
    owner_key TEXT UNIQUE,
    status TEXT NOT NULL,
    open INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX jobs_by_status ON jobs (status, seq);
  CREATE INDEX jobs_open ON jobs (seq) WHERE open = 1;
  CREATE TABLE applied_events (event_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX applied_events_expiry ON applied_events (expires_at);
  CREATE TABLE early_events (
    upload_id TEXT PRIMARY KEY,
    device_key TEXT NOT NULL,
    notification TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX early_events_by_devices ON early_events (device_key);
  CREATE INDEX early_events_expiry ON early_events (expires_at);
`;
/** Rows per read of a listing: a page of jobs without holding a statement open across awaits. */
const SCAN_PAGE = 100;

function sqliteReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

/** Creates a new store file whole (schema included) beside `path`, then links it into place only if none exists. */
function createStoreFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fresh = `${path}.new-${process.pid}`;
  rmSync(fresh, { force: true });
  const db = new Database(fresh);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec(SCHEMA);
  } finally {
    db.close();
  }
  try {
    // link, not rename: if another process created the store meanwhile, keep its file.
    linkSync(fresh, path);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  } finally {
    rmSync(fresh, { force: true });
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Opens (or creates) the store; throws JobStoreUnreadableError for a file it cannot trust. */
function openStoreFile(path: string): SqliteDatabase {
  if (!existsSync(path)) {
    try {
      createStoreFile(path);
    } catch (error) {
      // Never run on with jobs that are not saved: refuse to start, saying what to change.
      const code = (error as { code?: string }).code;
      throw new ConfigError([
        `JOB_STORE_FILE (${path}) cannot be created${code ? ` (${code})` : ''}: ${error instanceof Error ? error.message.replace(/^\w+: /, '') : String(error)}. ` +
          'Point JOB_STORE_FILE at a file in a writable directory (or set CACHE_URL to keep jobs in Redis)',
      ]);
    }
  }
  // A store is created whole (above), so an empty file is one whose content was lost.
  if (statSync(path).size === 0) throw new JobStoreUnreadableError(path, 'the file is empty');
  if (firstByte(path) === '{')
    throw new JobStoreUnreadableError(
      path,
      'it holds JSON, the job file of Fleetgraph releases before the SQLite store',
      'Its jobs are not carried over: point JOB_STORE_FILE at a new file (e.g. jobs.sqlite), once the jobs in the old one have settled',
    );
  let db: SqliteDatabase | null = null;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 2_000 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('synchronous = FULL');
    try {
      // Takes the file for this process at once (and keeps it).
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY')
        throw new JobStoreUnreadableError(
          path,
          'another process has it open (one Fleetgraph per job store; for replicas set CACHE_URL instead)',
        );
      throw error;
    }
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new JobStoreUnreadableError(path, `SQLite's check fails (${String(check)})`);
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID)
      throw new JobStoreUnreadableError(path, 'it is a SQLite database, but not a Fleetgraph job store');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version !== SCHEMA_VERSION)
      throw new JobStoreUnreadableError(
        path,
        `it was written by a Fleetgraph with job store version ${version}; this one reads version ${SCHEMA_VERSION}`,
      );
    // A store that reads but cannot be written would lose every job: find out now, not at the first upload.
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
    } catch (error) {
      throw new JobStoreUnreadableError(
        path,
        `it cannot be written (${sqliteReason(error)})`,
        'Fleetgraph does not run on while upload jobs cannot be saved: make the file and its directory writable, or point JOB_STORE_FILE at another file',
      );
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof JobStoreUnreadableError) throw error;
    // The file may be a good store that this process may not write (read-only, immutable, a full or
    // read-only disk): that is not a damaged store, and restoring a backup would not help.
    const code = String((error as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      throw new JobStoreUnreadableError(
        path,
        'another Fleetgraph process has it open (one process per job store file)',
        'Stop that process, or give this one its own JOB_STORE_FILE; replicas share jobs through CACHE_URL (Redis) instead',
      );
    if (/^SQLITE_(READONLY|PERM|CANTOPEN|IOERR_LOCK|IOERR_SHMOPEN|FULL)/.test(code))
      throw new JobStoreUnreadableError(
        path,
        `it cannot be opened for writing (${sqliteReason(error)})`,
        'Fleetgraph does not run on while upload jobs cannot be saved: make the file, its directory and its disk writable, or point JOB_STORE_FILE at another file',
      );
    throw new JobStoreUnreadableError(path, `it is not a readable SQLite database (${sqliteReason(error)})`);
  }
}

function firstByte(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 0);
    return byte.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

function openMemoryStore(): SqliteDatabase {
  const db = new Database(':memory:');
  db.exec(SCHEMA);
  return db;
}

interface Row {
  seq: number;
  id: string;
  record: string;
}

/** `path` null: in memory (tests, and JOB_STORE_FILE=memory). */
export function openSqliteJobRecords(path: string | null): SqliteJobRecords {
  return new SqliteJobRecords(path === null ? openMemoryStore() : openStoreFile(path));
}

/** Every statement the store runs, prepared once. */
function prepareStatements(db: SqliteDatabase) {
  return {
    get: db.prepare<[string], { record: string }>('SELECT record FROM jobs WHERE id = ?'),
    idByUpload: db.prepare<[string], { id: string }>('SELECT id FROM jobs WHERE upload_id = ?'),
    idByOwner: db.prepare<[string], { id: string }>('SELECT id FROM jobs WHERE owner_key = ?'),
    insert: db.prepare<[string, string | null, string | null, string, number, string]>(
      'INSERT INTO jobs (id, upload_id, owner_key, status, open, record) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    update: db.prepare<[string | null, string, number, string, string]>(
      'UPDATE jobs SET upload_id = ?, status = ?, open = ?, record = ? WHERE id = ?',
    ),
    remove: db.prepare<[string]>('DELETE FROM jobs WHERE id = ?'),
    pageAll: db.prepare<[number, number], Row>(
      'SELECT seq, id, record FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    pageOpen: db.prepare<[number, number], Row>(
      'SELECT seq, id, record FROM jobs WHERE open = 1 AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    pageStatus: db.prepare<[string, number, number], Row>(
      'SELECT seq, id, record FROM jobs WHERE status = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    // Counted on an index (SQLite picks its smallest; jobs_by_status for a status): no record is read.
    countAll: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM jobs'),
    countStatus: db.prepare<[string], { count: number }>(
      'SELECT COUNT(*) AS count FROM jobs WHERE status = ?',
    ),
    eventApplied: db.prepare<[string, number], { one: number }>(
      'SELECT 1 AS one FROM applied_events WHERE event_id = ? AND expires_at > ?',
    ),
    markEvent: db.prepare<[string, number]>(
      'INSERT OR REPLACE INTO applied_events (event_id, expires_at) VALUES (?, ?)',
    ),
    purgeEvents: db.prepare<[number]>('DELETE FROM applied_events WHERE expires_at <= ?'),
    keepEarly: db.prepare<[string, string, string, number]>(
      'INSERT OR REPLACE INTO early_events (upload_id, device_key, notification, expires_at) VALUES (?, ?, ?, ?)',
    ),
    getEarly: db.prepare<[string, number], { notification: string }>(
      'SELECT notification FROM early_events WHERE upload_id = ? AND expires_at > ?',
    ),
    deleteEarly: db.prepare<[string]>('DELETE FROM early_events WHERE upload_id = ?'),
    earlyFor: db.prepare<[string, number], { upload_id: string }>(
      'SELECT upload_id FROM early_events WHERE device_key = ? AND expires_at > ? ORDER BY rowid',
    ),
    purgeEarly: db.prepare<[number]>('DELETE FROM early_events WHERE expires_at <= ?'),
    ping: db.prepare('SELECT 1'),
  };
}

export class SqliteJobRecords implements JobRecords {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly addTransaction: (entry: JobEntry) => string | null;
  private readonly putTransaction: (entry: JobEntry, eventId: string | undefined) => void;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = prepareStatements(db);
    // One transaction each: the key check and the insert, or the job and the event it applied.
    this.addTransaction = db.transaction((entry: JobEntry) => {
      if (entry.ownerKey) {
        const holder = this.statements.idByOwner.get(entry.ownerKey);
        if (holder) return holder.id;
      }
      const { id, uploadId, ownerKey, status, open, record } = entry;
      this.statements.insert.run(id, uploadId, ownerKey, status, open ? 1 : 0, JSON.stringify(record));
      return null;
    });
    this.putTransaction = db.transaction((entry: JobEntry, eventId: string | undefined) => {
      const { id, uploadId, status, open, record } = entry;
      this.statements.update.run(uploadId, status, open ? 1 : 0, JSON.stringify(record), id);
      if (eventId) this.markEvent(eventId);
    });
  }

  async check(): Promise<void> {
    this.run(() => this.statements.ping.get());
  }

  async get(id: string): Promise<unknown> {
    const row = this.run(() => this.statements.get.get(id));
    return row ? parseRecord(row.record) : undefined;
  }

  async idFor(index: 'uploadId' | 'ownerKey', value: string): Promise<string | null> {
    const statement = index === 'uploadId' ? this.statements.idByUpload : this.statements.idByOwner;
    return this.run(() => statement.get(value))?.id ?? null;
  }

  async add(entry: JobEntry): Promise<string | null> {
    return this.run(() => this.addTransaction(entry));
  }

  async put(entry: JobEntry, appliedEventId?: string): Promise<void> {
    this.run(() => this.putTransaction(entry, appliedEventId));
  }

  async remove(entry: JobEntry): Promise<void> {
    this.run(() => this.statements.remove.run(entry.id));
  }

  async *scan(filter: { open?: boolean; status?: string }): AsyncIterable<JobRow> {
    let before = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = this.run(() =>
        filter.status
          ? this.statements.pageStatus.all(filter.status, before, SCAN_PAGE)
          : filter.open
            ? this.statements.pageOpen.all(before, SCAN_PAGE)
            : this.statements.pageAll.all(before, SCAN_PAGE),
      );
      for (const row of page) yield { id: row.id, record: parseRecord(row.record) };
      if (page.length < SCAN_PAGE) return;
      before = page[page.length - 1]!.seq;
    }
  }

  async count(filter: { status?: string }): Promise<number | null> {
    const row = this.run(() =>
      filter.status ? this.statements.countStatus.get(filter.status) : this.statements.countAll.get(),
    );
    return row?.count ?? 0;
  }

  async isEventApplied(eventId: string): Promise<boolean> {
    return this.run(() => this.statements.eventApplied.get(eventId, Date.now())) !== undefined;
  }

  async markEventApplied(eventId: string): Promise<void> {
    this.run(() => this.markEvent(eventId));
  }

  async keepEarlyEvent(uploadId: string, deviceKey: string, notification: unknown): Promise<void> {
    const now = Date.now();
    this.run(() => {
      this.statements.purgeEarly.run(now);
      this.statements.keepEarly.run(
        uploadId,
        deviceKey,
        JSON.stringify(notification),
        now + EARLY_EVENT_TTL_MS,
      );
    });
  }

  async takeEarlyEvent(uploadId: string): Promise<unknown> {
    const row = this.run(() => this.statements.getEarly.get(uploadId, Date.now()));
    if (!row) return undefined;
    this.run(() => this.statements.deleteEarly.run(uploadId));
    return parseRecord(row.notification);
  }

  async earlyEventsFor(deviceKey: string): Promise<string[]> {
    return this.run(() => this.statements.earlyFor.all(deviceKey, Date.now())).map((r) => r.upload_id);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private markEvent(eventId: string): void {
    const now = Date.now();
    this.statements.purgeEvents.run(now);
    this.statements.markEvent.run(eventId, now + SEEN_EVENT_TTL_MS);
  }

  /** A failure of the database itself (disk full, I/O error, corruption found late) is STORE_UNAVAILABLE. */
  private run<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw new SharedStoreError(
        'unreachable',
        `Fleetgraph's job store failed (${sqliteReason(error)}); upload jobs cannot be read or changed`,
        {},
        error,
      );
    }
  }
}

/** A record as stored; text that is not JSON is handed on as it is, for the job store to refuse. */
function parseRecord(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
