import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real `redis-server` for the failure tests, with what examples/supergraph/local-redis.ts does not
 * offer: a password (`requirepass`), and stopping the process without killing it (SIGSTOP/SIGCONT: a
 * Redis that stops answering while its sockets stay open). `cli` runs `redis-cli` against it.
 */
export interface RedisProcess {
  /** Without credentials. */
  url: string;
  port: number;
  /** SIGSTOP: sockets stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedisProcess(options: { password?: string } = {}): Promise<RedisProcess> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error('redis-server is not installed');
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
    'no',
  ];
  if (options.password) args.push('--requirepass', options.password);
  const proc: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    async cli(...command) {
      const { stdout } = await run('redis-cli', ['-p', String(port), ...auth, ...command]);
      return stdout.trim();
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
