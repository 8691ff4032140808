import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local Redis (Debian's `redis-server`) on a free port, for `npm run supergraph` and the tests that
 * need state shared by replicas. `persistent` turns on an append-only file in a temp dir, so
 * `restart()` comes back with the data, as a production Redis would; otherwise nothing touches disk.
 */
export interface LocalRedis {
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL): clients see the connection drop, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const REDIS_MISSING =
  'redis-server is not installed: `apt-get install -y redis-server` (.ci/run installs it when missing)';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startLocalRedis(options: { persistent?: boolean } = {}): Promise<LocalRedis> {
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
  ];
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
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => waitForExit('SIGKILL'),
    restart: start,
    async stop() {
      await waitForExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
