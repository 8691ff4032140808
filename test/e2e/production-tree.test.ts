import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { emulatorEnv } from '../../src/server/embedded-upstreams.js';
import { startTestEmulators } from '../helpers/emulator-targets.js';
import { TEST_JWT_SECRET, tokenWith } from '../helpers/production-env.js';
import { eventually } from '../helpers/wait.js';

/**
 * The tree the Docker image holds, built and run without a container runtime: `tsc -p tsconfig.build.json`
 * into a temporary directory (never the repo's dist/, which other work may be writing), package.json and
 * the lockfile beside it, `npm install --omit=dev`, then `node dist/cli.js serve` from there with
 * NODE_ENV=production and the emulators as the real upstreams. As in the image, the default state paths
 * (.fleetgraph/jobs.sqlite and .fleetgraph/fleet-index.sqlite) lead through a `.fleetgraph` symlink into a
 * data directory that stands for its volume.
 *
 * The install builds better-sqlite3 from source where no prebuilt binary can be fetched: about a minute of
 * this suite's one to two.
 */
const REPO = process.cwd();
const FLEET_PAGE = '{ devices(first: 20) { edges { node { id management { status } access { name } } } } }';

interface Ran {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with the end of its output when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-4000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * The environment of an operator's shell: without jest's NODE_OPTIONS and NODE_ENV, and without the npm_*
 * variables `npm test` sets (a prefix among them would point the nested install at the repository).
 */
function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== 'NODE_OPTIONS' && name !== 'NODE_ENV' && !/^npm_/i.test(name),
    ),
  );
}

describe('the production tree (dist/ and production dependencies only, as in the image)', () => {
  let tree: string;
  let dataDir: string;
  let emulators: RunningEmulators;
  let server: ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  let graphqlUrl: string;
  let adminUrl: string;
  const timings: Record<string, number> = {};

  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      timings[name] = Date.now() - started;
    }
  };

  const logLines = (): Array<Record<string, unknown>> =>
    stdout
      .split('\n')
      .filter((line) => line.trim())
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  beforeAll(async () => {
    tree = await mkdtemp(join(tmpdir(), 'fleetgraph-production-tree-'));
    dataDir = join(tree, 'var-lib-fleetgraph');
    await mkdir(dataDir);
    await symlink(dataDir, join(tree, '.fleetgraph'));

    await timed('tsc', () =>
      run(
        process.execPath,
        [
          join(REPO, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          join(tree, 'dist'),
        ],
        REPO,
        shellEnv(),
      ),
    );
    for (const file of ['package.json', 'package-lock.json'])
      await copyFile(join(REPO, file), join(tree, file));
    // As the Dockerfile: the workspace package's package.json keeps the lockfile's workspace entries, and
    // `npm run build` puts the trusted-documents manifest beside dist/ (PERSISTED_DOCUMENTS is `allow` here).
    await mkdir(join(tree, 'packages/client'), { recursive: true });
    await copyFile(join(REPO, 'packages/client/package.json'), join(tree, 'packages/client/package.json'));
    await copyFile(
      join(REPO, 'packages/client/src/generated/persisted-documents.json'),
      join(tree, 'dist/persisted-documents.json'),
    );
    // --prefer-offline: the packages are in npm's cache from the repo's own install. JOBS=max: node-gyp
    // compiles better-sqlite3's sources in parallel (the same binary, sooner).
    await timed('npm install --omit=dev', () =>
      run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], tree, {
        ...shellEnv(),
        JOBS: 'max',
      }),
    );

    emulators = await startTestEmulators();
    const started = Date.now();
    server = spawn(process.execPath, ['dist/cli.js', 'serve'], {
      cwd: tree,
      // What an operator sets, and nothing inherited from jest.
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ...emulatorEnv(emulators.urls),
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
        HOST: '127.0.0.1',
        PORT: '0',
        ADMIN_PORT: '0',
      },
    });
    server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const listening = await Promise.race([
      eventually(
        () => logLines().find((line) => line.msg === 'listening'),
        'the "listening" log line',
        60_000,
      ),
      new Promise<never>((_, reject) =>
        server.once('exit', (code) =>
          reject(new Error(`node dist/cli.js serve exited with ${code}:\n${stdout}\n${stderr}`)),
        ),
      ),
    ]);
    graphqlUrl = String(listening.url);
    adminUrl = `http://127.0.0.1:${Number(listening.adminPort)}`;
    // Ready once the upstreams answer and the fleet index has synced.
    await eventually(
      async () => (await fetch(`${adminUrl}/readyz`).catch(() => null))?.status === 200,
      '/readyz 200',
      60_000,
    );
    timings['start to ready'] = Date.now() - started;
  }, 600_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await emulators?.stop();
    if (tree) await rm(tree, { recursive: true, force: true });
    if (Object.keys(timings).length)
      console.info(
        `production tree: ${Object.entries(timings)
          .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`)
          .join(', ')}`,
      );
  });

  it('holds no development dependency', async () => {
    const { devDependencies } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    // @types/* come along with some production packages; no tool does.
    const tools = Object.keys(devDependencies).filter((name) => !name.startsWith('@types/'));
    expect(tools).toEqual(expect.arrayContaining(['@swc-node/register', 'typescript', 'jest']));
    expect(tools.filter((name) => existsSync(join(tree, 'node_modules', name)))).toEqual([]);
    expect(existsSync(join(tree, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(
      true,
    );
  });

  it('runs in production mode against real upstreams, with health and metrics on the admin port', async () => {
    expect(logLines().find((line) => line.msg === 'listening')).toMatchObject({
      nodeEnv: 'production',
      mode: 'upstreams',
      // V8's heap growth as served (bench/README.md "Memory"): the default unless HEAP_GROWTH_PERCENT says.
      heapGrowthPercent: 50,
    });
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('fleetgraph_');
  });

  it('serves the fleet page to a caller with a token', async () => {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await tokenWith('devices:read')}`,
      },
      body: JSON.stringify({ query: FLEET_PAGE }),
    });
    const body = (await res.json()) as {
      data?: { devices: { edges: Array<{ node: { id: string; management: { status: string } | null } }> } };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(res.status).toBe(200);
    const edges = body.data!.devices.edges;
    expect(edges).toHaveLength(20);
    expect(edges.every((edge) => edge.node.id)).toBe(true);
    expect(edges.some((edge) => edge.node.management?.status)).toBe(true);
  });

  it('refuses a caller without a token', async () => {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: FLEET_PAGE }),
    });
    const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps upload jobs and the fleet index in the data volume (the default paths under .fleetgraph/)', () => {
    expect(existsSync(join(dataDir, 'jobs.sqlite'))).toBe(true);
    expect(existsSync(join(dataDir, 'fleet-index.sqlite'))).toBe(true);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      sleep(20_000, 'still running 20 s after SIGTERM', { ref: false }),
    ]);
    expect(code).toBe(0);
  });

  it('wrote only JSON log lines to stdout, start to exit', () => {
    const lines = stdout.split('\n').filter((line) => line.trim());
    expect(lines.length).toBeGreaterThan(0);
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  });
});
