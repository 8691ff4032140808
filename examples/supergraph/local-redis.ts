import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A local Redis (Debian's `redis-server`) on a free port, for `npm run supergraph` and the tests that
 * need state shared by replicas or a Redis that fails. `persistent` turns on an append-only file in a
 * temp dir, so `restart()` comes back with the data, as a production Redis would; otherwise nothing
 * touches disk. `password` sets `requirepass`.
 */
export interface LocalRedis {
  /** Without credentials. */
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL): clients see the connection drop, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP: sockets stay open, nothing answers (a Redis that stalls). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Runs `redis-cli` against it (with its password), answering the output. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

export const REDIS_MISSING =
  'redis-server is not installed: `apt-get install -y redis-server` (.ci/run installs it when missing)';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startLocalRedis(
  options: { persistent?: boolean; password?: string } = {},
): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(REDIS_MISSING);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fleetgraph-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistent ? 'yes' : 'no',
    ...(options.persistent ? ['--appendfsync', 'always'] : []),
    ...(options.password ? ['--requirepass', options.password] : []),
  ];
  const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) =>
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)),
      );
    });
  };
  const waitForExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => waitForExit('SIGKILL'),
    restart: start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async cli(...command) {
      const { stdout } = await run('redis-cli', ['-p', String(port), ...auth, ...command]);
      return stdout.trim();
    },
    async stop() {
      await waitForExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
