import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './local-redis.js';

/**
 * A private PostgreSQL cluster (Debian's `postgresql`) on a free port, for the tests that need a real
 * database: `initdb` into a fresh temp dir, then `postgres` started directly as a child process (not
 * through `pg_ctl`), so `kill9()` can crash it. Trust authentication for the user `fleetgraph`, and
 * nothing is synced to disk (`fsync=off`): fast, and fit only for tests. PostgreSQL refuses to run as
 * root, so under root the cluster belongs to, and runs as, the `postgres` user (else `nobody`).
 */
export interface LocalPostgres {
  /** `postgres://fleetgraph@127.0.0.1:<port>/<database>`, without a password (trust authentication). */
  url: string;
  port: number;
  /** The cluster's directory (PGDATA), also the directory of its Unix socket. `stop()` removes it. */
  dataDir: string;
  /** The postmaster's pid, or null once it has exited. */
  pid: number | null;
  /** Fast shutdown (SIGINT), waits for the exit, then removes the data dir. Also the way to clean up after `kill9()`. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster, as in a crash: its backends notice and exit, clients see their connections drop. */
  kill9(): void;
}

export const POSTGRES_MISSING =
  'PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on PATH): ' +
  '`apt-get install -y postgresql` (.ci/run installs it when missing)';

const USER = 'fleetgraph';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_LIMIT = 16_384;

const run = promisify(execFile);

interface Binaries {
  initdb: string;
  postgres: string;
  pgIsready?: string;
  createdb?: string;
  psql?: string;
}

/** Under root: whom the cluster belongs to and runs as. */
interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The highest `/usr/lib/postgresql/<version>/bin`, else the directories `initdb` and `pg_ctl` on PATH really live in, else PATH. */
function findBinaries(): Binaries {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => /^\d+(\.\d+)?$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const versioned = versions
    .map((version) => join(root, version, 'bin'))
    .find((dir) => executable(join(dir, 'initdb')) && executable(join(dir, 'postgres')));
  const dirs = versioned
    ? [versioned]
    : ['initdb', 'pg_ctl'].flatMap((name) => {
        const found = onPath(name);
        return found ? [dirname(realpathSync(found))] : [];
      });
  const find = (name: string): string | undefined =>
    dirs.map((dir) => join(dir, name)).find(executable) ?? onPath(name);
  const initdb = find('initdb');
  const postgres = find('postgres');
  if (!initdb || !postgres) throw new Error(POSTGRES_MISSING);
  return { initdb, postgres, pgIsready: find('pg_isready'), createdb: find('createdb'), psql: find('psql') };
}

async function idOf(user: string, flag: '-u' | '-g'): Promise<number | undefined> {
  try {
    const { stdout } = await run('id', [flag, user]);
    return Number(stdout.trim());
  } catch {
    return undefined;
  }
}

async function unprivilegedUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    const [uid, gid] = await Promise.all([idOf(user, '-u'), idOf(user, '-g')]);
    if (uid !== undefined && gid !== undefined && uid !== 0) return { user, uid, gid };
  }
  throw new Error(
    'PostgreSQL refuses to run as root, and neither a `postgres` nor a `nobody` user exists to run it as',
  );
}

/** The environment for the client tools, without PG* variables that could point them elsewhere. */
function clientEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
}

/**
 * After a SIGKILL the postmaster leaves its (small) System V shared memory segment behind; its id is
 * on line 7 of `postmaster.pid`. A clean shutdown removes both.
 */
function removeSharedMemory(dataDir: string): void {
  try {
    const shmid = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8')
      .split('\n')[6]
      ?.trim()
      .split(/\s+/)[1];
    if (shmid && /^\d+$/.test(shmid)) execFileSync('ipcrm', ['-m', shmid], { stdio: 'ignore' });
  } catch {
    // no postmaster.pid (nothing was left behind), or the segment is already gone
  }
}

export async function startLocalPostgres(
  options: { port?: number; database?: string } = {},
): Promise<LocalPostgres> {
  const bins = findBinaries();
  const runAs = await unprivilegedUser();
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  const database = options.database ?? USER;
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgraph-pg-'));
  if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);

  try {
    await run(
      bins.initdb,
      ['-D', dataDir, '--auth=trust', `--username=${USER}`, '--encoding=UTF8', '--locale=C', '--no-sync'],
      { cwd: dataDir, ...ids },
    );
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    const { stderr } = error as { stderr?: string };
    const hint = runAs
      ? ` (it runs as ${runAs.user}: every directory above ${dataDir} must let it through)`
      : '';
    throw new Error(`initdb failed${hint}:\n${stderr ?? String(error)}`);
  }

  // A Unix socket path is limited to 107 bytes; with a long TMPDIR the server listens on TCP only.
  const socketDir = join(dataDir, '.s.PGSQL.65535').length < 100 ? dataDir : '';
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let running = false;
  let log = '';

  const launch = async (port: number): Promise<void> => {
    const proc = spawn(
      bins.postgres,
      [
        ...['-D', dataDir, '-p', String(port), '-k', socketDir],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
        ...['-c', 'full_page_writes=off', '-c', 'max_connections=100'],
      ],
      { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], detached: false, ...ids },
    );
    child = proc;
    running = true;
    log = '';
    exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        running = false;
        resolve();
      }),
    );
    // Read the server's output for as long as it runs (a full pipe would stall it); keep the tail for errors.
    const onData = (chunk: Buffer) => void (log = (log + chunk.toString()).slice(-LOG_LIMIT));
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let polling = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        proc.stderr!.off('data', onReady);
        proc.off('exit', onEarlyExit);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => {
        if (log.includes('ready to accept connections')) finish();
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(new Error(`postgres exited (${signal ?? code}) before it was ready:\n${log}`));
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        finish(new Error(`postgres was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${log}`));
      }, READY_TIMEOUT_MS);
      const poll = setInterval(() => {
        if (!bins.pgIsready || polling) return;
        polling = true;
        const args = ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', USER, '-d', 'postgres'];
        execFile(bins.pgIsready, args, { env: clientEnv() }, (error) => {
          polling = false;
          if (!error) finish();
        });
      }, 100);
      proc.stderr!.on('data', onReady);
      proc.once('exit', onEarlyExit);
    });
  };

  const kill9 = () => {
    if (running) child?.kill('SIGKILL');
  };
  const removeDataDir = () => {
    removeSharedMemory(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  // The server must not outlive this process, even when no one calls stop().
  const onProcessExit = () => {
    kill9();
    running = false;
    removeDataDir();
  };
  process.on('exit', onProcessExit);

  let port = options.port ?? (await freePort());
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch(port);
        break;
      } catch (error) {
        // Another process may have taken the free port in the meantime: try another one.
        const taken = /could not (bind|create any TCP\/IP sockets)|already in use/i.test(log);
        if (options.port !== undefined || !taken || attempt >= 3) throw error;
        port = await freePort();
      }
    }
    if (database !== 'postgres') {
      const server = ['-h', '127.0.0.1', '-p', String(port), '-U', USER];
      const quoted = `"${database.replace(/"/g, '""')}"`;
      if (bins.createdb) await run(bins.createdb, [...server, database], { env: clientEnv() });
      else if (bins.psql)
        await run(
          bins.psql,
          [...server, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${quoted}`],
          { env: clientEnv() },
        );
      else throw new Error(`neither createdb nor psql is installed to create the database ${database}`);
    }
  } catch (error) {
    process.off('exit', onProcessExit);
    kill9();
    await exited;
    removeDataDir();
    throw error;
  }

  return {
    url: `postgres://${USER}@127.0.0.1:${port}/${database}`,
    port,
    dataDir,
    get pid() {
      return running ? (child?.pid ?? null) : null;
    },
    async stop() {
      const proc = child;
      if (proc && running) {
        proc.kill('SIGINT'); // fast shutdown: rolls back open transactions, closes connections
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      } else {
        await exited; // after kill9(), the exit may not have been seen yet
      }
      process.off('exit', onProcessExit);
      removeDataDir();
    },
    kill9,
  };
}
