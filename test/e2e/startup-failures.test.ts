import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteJobRecords } from '../../src/cache/sqlite-job-records.js';

/**
 * Fleetgraph refuses to start the way an operator needs: one message saying what to change, on stderr,
 * with no stack trace, and a non-zero exit. Each case runs `fleetgraph` as a process, as `npm start` does.
 */
interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function fleetgraph(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'src/cli.ts', ...args],
    {
      env: { ...process.env, NODE_OPTIONS: '', JOB_STORE_FILE: 'memory', LOG_LEVEL: 'warn', ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // A server that did start is a failed case: stop it rather than hang.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

const STACK_FRAME = /^\s+at .+[:(]/m;

function expectRefusal(outcome: Outcome, message: RegExp, code = 1): void {
  expect(outcome.code).toBe(code);
  expect(outcome.stderr).toMatch(message);
  expect(outcome.stderr).not.toMatch(STACK_FRAME);
  expect(outcome.stdout).not.toMatch(STACK_FRAME);
}

let dir: string;
let occupied: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgraph-startup-'));
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  busyPort = (occupied.address() as { port: number }).port;
});

afterAll(() => {
  occupied?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fleetgraph serve refuses to start, saying what to change', () => {
  it('when its port is in use', async () => {
    expectRefusal(
      await fleetgraph(['serve'], { PORT: String(busyPort), HOST: '127.0.0.1' }),
      new RegExp(`port ${busyPort} is in use: set PORT`),
    );
  }, 90_000);

  it('when ADMIN_PORT is in use', async () => {
    expectRefusal(
      await fleetgraph(['serve'], { PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: String(busyPort) }),
      new RegExp(`port ${busyPort} is in use: set ADMIN_PORT`),
    );
  }, 90_000);

  it('when HOST does not resolve, or is not an address of this machine', async () => {
    const [unresolved, foreign] = await Promise.all([
      fleetgraph(['serve'], { PORT: '0', HOST: 'no-such-host.invalid' }),
      fleetgraph(['serve'], { PORT: '0', HOST: '192.0.2.1' }),
    ]);
    expectRefusal(unresolved, /HOST "no-such-host\.invalid" does not resolve to an address: set HOST/);
    expectRefusal(foreign, /HOST "192\.0\.2\.1" is not an address of this machine: set HOST/);
  }, 90_000);

  it('when the job store cannot be created, is held by another process, or cannot be written', async () => {
    const held = join(dir, 'held.sqlite');
    const holder = openSqliteJobRecords(held);
    const frozen = join(dir, 'frozen.sqlite');
    await openSqliteJobRecords(frozen).close();
    // An immutable file: even root cannot write it (where the file system supports the flag).
    const immutable = spawnSync('chattr', ['+i', frozen]).status === 0;
    try {
      const [uncreatable, busy, unwritable] = await Promise.all([
        fleetgraph(['serve'], { PORT: '0', JOB_STORE_FILE: '/etc/passwd/jobs.sqlite' }),
        fleetgraph(['serve'], { PORT: '0', JOB_STORE_FILE: held }),
        immutable ? fleetgraph(['serve'], { PORT: '0', JOB_STORE_FILE: frozen }) : Promise.resolve(null),
      ]);
      expectRefusal(uncreatable, /JOB_STORE_FILE \(\/etc\/passwd\/jobs\.sqlite\) cannot be created/);
      expectRefusal(busy, /another Fleetgraph process has it open/);
      if (unwritable) expectRefusal(unwritable, /cannot be opened for writing|cannot be written/);
    } finally {
      await holder.close();
      if (immutable) spawnSync('chattr', ['-i', frozen]);
    }
  }, 90_000);

  it('when the fleet index file cannot be created', async () => {
    expectRefusal(
      await fleetgraph(['serve'], { PORT: '0', FLEET_INDEX_FILE: '/etc/passwd/fleet-index.sqlite' }),
      /fleet index \(FLEET_INDEX_FILE \(\/etc\/passwd\/fleet-index\.sqlite\)\) cannot be opened/,
    );
  }, 90_000);
});

describe('fleetgraph token', () => {
  it('answers --help with its usage', async () => {
    const help = await fleetgraph(['token', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: fleetgraph token/);
  }, 60_000);

  it('without AUTH_JWT_SECRET, or with an unknown option, answers with its usage (exit 2)', async () => {
    const [noSecret, unknown] = await Promise.all([
      fleetgraph(['token'], { AUTH_JWT_SECRET: '' }),
      fleetgraph(['token', '--scopes', 'x'], { AUTH_JWT_SECRET: 'a'.repeat(32) }),
    ]);
    expectRefusal(noSecret, /AUTH_JWT_SECRET is not set[\s\S]*Usage: fleetgraph token/, 2);
    expectRefusal(unknown, /Unknown option '--scopes'[\s\S]*Usage: fleetgraph token/, 2);
  }, 60_000);
});
