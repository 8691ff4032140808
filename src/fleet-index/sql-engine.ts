import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import pg from 'pg';

/**
 * The fleet index's two query engines behind one small interface: SQLite (better-sqlite3, embedded, the
 * default) and PostgreSQL (shared by replicas). Statements are written once with `?` placeholders; the
 * PostgreSQL engine numbers them. Where the dialects differ (text search, DDL), callers ask `dialect`.
 *
 * Writes are serialized: one write transaction at a time per process, and on PostgreSQL one across
 * replicas (a transaction-scoped advisory lock), so a full sync's swap and a targeted refresh never
 * interleave. Readers never wait for writers: both engines give them the last committed state (SQLite's
 * write-ahead log with a second connection; PostgreSQL's MVCC).
 */
export type SqlDialect = 'sqlite' | 'postgres';

/** The index's engine failed a read (a shared PostgreSQL down): the request's index-backed fields fail with it. */
export class IndexEngineError extends Error {
  constructor(engine: string, cause: unknown) {
    super(
      `The fleet index (${engine}) cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'IndexEngineError';
  }
}
export type SqlValue = string | number | null;

export interface SqlReader {
  readonly dialect: SqlDialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface SqlWriter extends SqlReader {
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlEngine extends SqlReader {
  /**
   * After a bulk change and ANALYZE: readers plan with the new statistics. (SQLite loads a connection's
   * statistics with its schema, so a reader connection would keep planning as for the old, perhaps tiny,
   * index; PostgreSQL plans each query afresh.)
   */
  replan(): void;
  /** Runs `work` in one write transaction (serialized, see above); rolled back when it throws. */
  write<T>(work: (tx: SqlWriter) => Promise<T>): Promise<T>;
  readonly description: string;
  close(): Promise<void>;
}

/** One write at a time in this process, in arrival order. */
class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class SqliteEngine implements SqlEngine {
  readonly dialect = 'sqlite' as const;
  private readonly writer: SqliteDatabase;
  private reader: SqliteDatabase;
  private readonly queue = new WriteQueue();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly readStatements = new Map<string, Database.Statement>();

  /** `memory`: a file in a temp folder removed at close (WAL readers need a file, not `:memory:`). */
  constructor(
    file: string,
    private readonly removeOnClose = false,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.file = file;
    this.writer = new Database(file);
    // The index can always be rebuilt from the upstreams: durability is traded for write speed.
    this.writer.pragma('journal_mode = WAL');
    this.writer.pragma('synchronous = NORMAL');
    this.writer.pragma('busy_timeout = 5000');
    // A bounded page cache per connection (negative = KiB): RSS stays flat as the fleet grows.
    this.writer.pragma('cache_size = -16000');
    this.reader = this.openReader();
  }

  private readonly file: string;

  private openReader(): SqliteDatabase {
    const reader = new Database(this.file);
    reader.pragma('busy_timeout = 5000');
    reader.pragma('query_only = true');
    reader.pragma('cache_size = -32000');
    return reader;
  }

  /** A new reader connection: it loads the statistics ANALYZE just wrote (measured: 39 ms → 6 ms for `_entities` at 100k). */
  replan(): void {
    const old = this.reader;
    this.reader = this.openReader();
    this.readStatements.clear();
    // Reads are synchronous: none is running on the old connection now.
    old.close();
  }

  static open(setting: string): SqliteEngine {
    if (setting === 'memory') {
      const dir = mkdtempSync(join(tmpdir(), 'fleetgraph-index-'));
      return new SqliteEngine(join(dir, 'fleet-index.sqlite'), true);
    }
    return new SqliteEngine(setting);
  }

  get description(): string {
    return this.removeOnClose ? 'sqlite (temporary file)' : `sqlite ${this.file}`;
  }

  private prepared(db: SqliteDatabase, cache: Map<string, Database.Statement>, sql: string) {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      // Dynamic statements (IN lists of varying length) must not grow the cache without bound.
      if (cache.size > 500) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    try {
      return Promise.resolve(this.prepared(this.reader, this.readStatements, sql).all(...params) as T[]);
    } catch (error) {
      return Promise.reject(new IndexEngineError(this.description, error));
    }
  }

  write<T>(work: (tx: SqlWriter) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const tx: SqlWriter = {
        dialect: 'sqlite',
        all: <R>(sql: string, params: readonly SqlValue[] = []) =>
          Promise.resolve(this.prepared(this.writer, this.statements, sql).all(...params) as R[]),
        run: (sql, params = []) =>
          Promise.resolve(this.prepared(this.writer, this.statements, sql).run(...params).changes),
      };
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.queue.run(() => {
      this.reader.close();
      this.writer.close();
      if (this.removeOnClose) rmSync(dirname(this.file), { recursive: true, force: true });
      return Promise.resolve();
    });
  }
}

/** `?` → `$1, $2, …` (statements here never hold a literal question mark). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Any constant: every replica's writers take the same lock. */
const WRITE_LOCK_KEY = 0x46474958; // "FGIX"

export class PostgresEngine implements SqlEngine {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly queue = new WriteQueue();

  constructor(private readonly url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 8, idleTimeoutMillis: 30_000 });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  replan(): void {
    // Each query is planned afresh with the table's current statistics.
  }

  get description(): string {
    const parsed = new URL(this.url);
    return `postgres ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    try {
      const result = await this.pool.query(numbered(sql), params as SqlValue[]);
      return result.rows as T[];
    } catch (error) {
      throw new IndexEngineError(this.description, error);
    }
  }

  write<T>(work: (tx: SqlWriter) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const client = await this.pool.connect();
      const tx: SqlWriter = {
        dialect: 'postgres',
        all: async <R>(sql: string, params: readonly SqlValue[] = []) =>
          (await client.query(numbered(sql), params as SqlValue[])).rows as R[],
        run: async (sql, params = []) =>
          (await client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0,
      };
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  close(): Promise<void> {
    return this.queue.run(() => this.pool.end());
  }
}
