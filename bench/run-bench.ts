import 'reflect-metadata';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, setGlobalDispatcher } from 'undici';
import { DEV_CREDENTIALS } from '../src/emulators/dev-credentials.js';
import { createSeededFleet } from '../src/emulators/fleet/seeded-fleet.js';
import { emulatorEnv } from '../src/server/embedded-upstreams.js';
import { signCallerToken } from '../src/server/dev-token.js';
import { WORKLOADS, directOperation, graphqlOperation, meshOperation, workloadInputs } from './workloads.js';
import type { Operation, SystemName, WorkloadName } from './workloads.js';

/**
 * `npm run bench [-- --quick]`: the four systems side by side on the same emulators, one at a time.
 * The system under test runs pinned to core 0; the emulators and this closed-loop load generator to
 * core 1. Each cell: a warm-up (discarded), then a measured window; every response is validated.
 */
/** `--scale` runs bench/scale.ts instead, which reads its own options (--sizes, --modes, --samples). */
const SCALE = process.argv.slice(2).includes('--scale');
const { values: args } = parseArgs({
  args: SCALE ? [] : process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    systems: { type: 'string', default: 'fleetgraph,naive,direct,mesh' },
    latencies: { type: 'string', default: '0,20' },
  },
});
const QUICK = args.quick;
const MEASURE_MS = QUICK ? 1000 : 8000;
const WARMUP_MS = QUICK ? 300 : 2000;
const CONCURRENCY = [1, 50];
/** How long after the window in-flight operations may still finish and count. */
const GRACE_MS = QUICK ? 1000 : 5000;
const SYSTEMS = args.systems.split(',') as SystemName[];
const LATENCIES = args.latencies.split(',').map(Number);
const PORTS = { kdms: 4601, knoxManage: 4602, box: 4603, sut: 4610 };
const NODE = process.execPath;
/** Fleetgraph (dist/) and the direct service (dist-bench/) run compiled, as in production. */
const FLEETGRAPH_CLI = 'dist/cli.js';
const DIRECT_MAIN = 'dist-bench/bench/direct/main.js';
/** The benchmark's callers sign in as production callers do (HS256 tokens). */
const BENCH_JWT_SECRET = 'fleetgraph-benchmark-secret-0123456789abcdef';
const FLEET = { size: 1000, seed: 'bench' };

setGlobalDispatcher(new Agent({ connections: 128, pipelining: 1, keepAliveTimeout: 30_000 }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(
  command: string[],
  env: Record<string, string>,
  core: number,
  ready: RegExp,
  cwd = process.cwd(),
): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', String(core), ...command], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${command.join(' ')} exited with ${code}:\n${output.slice(-2000)}`)),
    );
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
}

/** utime + stime of a process, in ms (clock ticks are 10 ms on Linux). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function memoryMb(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

const emulatorUrl = (port: number) => `http://127.0.0.1:${port}`;

async function upstreamCalls(): Promise<number> {
  let total = 0;
  for (const port of [PORTS.kdms, PORTS.knoxManage, PORTS.box]) {
    const counts = (await (await fetch(`${emulatorUrl(port)}/_emulator/requests`)).json()) as Record<
      string,
      number
    >;
    for (const [endpoint, n] of Object.entries(counts)) if (!endpoint.includes('oauth')) total += n;
  }
  return total;
}

async function resetCalls(): Promise<void> {
  for (const port of [PORTS.kdms, PORTS.knoxManage, PORTS.box])
    await fetch(`${emulatorUrl(port)}/_emulator/reset`, { method: 'POST' });
}

async function setLatency(ms: number): Promise<void> {
  for (const port of [PORTS.kdms, PORTS.knoxManage, PORTS.box]) {
    await fetch(`${emulatorUrl(port)}/_emulator/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: ms, paths: ms ? ['/kdms', '/emm/oapi', '/box'] : [] }),
    });
  }
}

interface CellResult {
  system: SystemName;
  workload: WorkloadName;
  latencyMs: number;
  concurrency: number;
  operations: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerOp: number;
  /** VmRSS at the end of the cell, and VmHWM (the process's peak since it started). */
  rssMb: number;
  peakRssMb: number;
  upstreamCallsPerOp: number;
  /** Operations still running when the cell was cut off (counted in `errors` too). */
  timeouts: number;
}

/**
 * Closed loop: `concurrency` workers each run the operation back to back until the window ends.
 * Operations still running a grace period after the end are aborted and not counted (a very slow
 * system, like the naive mode at c = 50, would otherwise stretch every cell by its slowest request).
 */
async function loop(
  operation: Operation,
  concurrency: number,
  durationMs: number,
): Promise<{ latencies: number[]; errors: number; timeouts: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  const end = performance.now() + durationMs;
  // One controller per operation: fetch keeps an abort listener on its signal until the request is
  // collected, so one signal shared by a cell's thousands of operations piled them up (and warned).
  const inFlight = new Set<AbortController>();
  let cutOff = false;
  const abort = setTimeout(() => {
    cutOff = true;
    for (const controller of inFlight) controller.abort();
  }, durationMs + GRACE_MS);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && !cutOff) {
        const started = performance.now();
        const controller = new AbortController();
        inFlight.add(controller);
        const { ok } = await operation(controller.signal).catch(() => ({ ok: false }));
        inFlight.delete(controller);
        if (controller.signal.aborted) {
          // Cut off: it did not complete within the window and its grace period. A timeout, not nothing.
          timeouts += 1;
          errors += 1;
          return;
        }
        if (ok) latencies.push(performance.now() - started);
        else errors += 1;
      }
    }),
  );
  clearTimeout(abort);
  return { latencies, errors, timeouts };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

async function measureCell(
  system: SystemName,
  pid: number,
  operation: Operation,
  workload: WorkloadName,
  latencyMs: number,
  concurrency: number,
): Promise<CellResult> {
  await loop(operation, concurrency, WARMUP_MS);
  await resetCalls();
  const cpuBefore = await cpuMs(pid);
  const started = performance.now();
  const { latencies, errors, timeouts } = await loop(operation, concurrency, MEASURE_MS);
  const elapsed = performance.now() - started;
  const cpu = (await cpuMs(pid)) - cpuBefore;
  const calls = await upstreamCalls();
  latencies.sort((a, b) => a - b);
  const operations = latencies.length;
  return {
    system,
    workload,
    latencyMs,
    concurrency,
    operations,
    errors,
    requestsPerSecond: operations / (elapsed / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMsPerOp: operations ? cpu / operations : 0,
    ...(await memoryMb(pid)),
    upstreamCallsPerOp: operations + errors ? calls / (operations + errors) : 0,
    timeouts,
  };
}

async function fetchToken(url: string, fields: Record<string, string>): Promise<string> {
  const response = await fetch(url, { method: 'POST', body: new URLSearchParams(fields) });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function startSystem(system: SystemName): Promise<{
  child: ChildProcess;
  url: string;
  operation: (w: WorkloadName) => Operation;
  stop(): Promise<void>;
}> {
  const inputs = workloadInputs(createSeededFleet(FLEET));
  const upstreamEnv = {
    ...emulatorEnv({
      kdms: emulatorUrl(PORTS.kdms),
      knoxManage: emulatorUrl(PORTS.knoxManage),
      box: emulatorUrl(PORTS.box),
    }),
    // Same settings for every system: no retries, no read cache, keep-alive agents.
    UPSTREAM_RETRIES: '0',
    READ_CACHE_TTL_MS: '0',
    UPSTREAM_MAX_CONCURRENCY: '256',
    UPSTREAM_MAX_CONCURRENCY_PER_ENDPOINT: '256',
    // The emulators' Knox Manage quota is lifted for the benchmark; so is Fleetgraph's budget for it.
    KNOX_MANAGE_REQUESTS_PER_MINUTE: '0',
    BREAKER_VOLUME: '100000',
    PORT: String(PORTS.sut),
    WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
  };
  if (system === 'fleetgraph' || system === 'naive') {
    const env = {
      ...upstreamEnv,
      // As in production: graphql-js without its development checks, caller tokens verified.
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: BENCH_JWT_SECRET,
      LOG_LEVEL: 'warn',
      JOB_STORE_FILE: 'memory',
      WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
      FLEETGRAPH_BATCHING: system === 'naive' ? 'off' : 'on',
    };
    const child = await start([NODE, FLEETGRAPH_CLI, 'serve'], env, 0, /Fleetgraph .*at http/);
    const url = `http://127.0.0.1:${PORTS.sut}/graphql`;
    const token = await signCallerToken(BENCH_JWT_SECRET, { scopes: ['devices:read'], subject: 'bench' });
    const headers = { authorization: `Bearer ${token}` };
    return {
      child,
      url,
      operation: (w) => graphqlOperation(url, w, inputs, headers),
      stop: () => stop(child),
    };
  }
  if (system === 'direct') {
    const child = await start([NODE, DIRECT_MAIN], upstreamEnv, 0, /direct service at/);
    const url = `http://127.0.0.1:${PORTS.sut}`;
    return { child, url, operation: (w) => directOperation(url, w, inputs), stop: () => stop(child) };
  }
  // GraphQL Mesh v1: compose the three OpenAPI documents, then serve the supergraph with Hive Gateway.
  const meshEnv = {
    MESH_KDMS_URL: emulatorUrl(PORTS.kdms),
    MESH_KDMS_TOKEN: await fetchToken(`${emulatorUrl(PORTS.kdms)}/ams/v1/oauth2/token`, {
      grant_type: 'client_credentials',
      client_id: DEV_CREDENTIALS.kdms.clientId,
      client_secret: DEV_CREDENTIALS.kdms.clientSecret,
      expires_in: '3600',
    }),
    MESH_KNOX_MANAGE_URL: emulatorUrl(PORTS.knoxManage),
    MESH_KNOX_MANAGE_TOKEN: await fetchToken(`${emulatorUrl(PORTS.knoxManage)}/emm/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: DEV_CREDENTIALS.knoxManage.clientId,
      client_secret: DEV_CREDENTIALS.knoxManage.clientSecret,
    }),
    MESH_BOX_URL: emulatorUrl(PORTS.box),
    MESH_BOX_API_KEY: DEV_CREDENTIALS.box.apiKey,
  };
  await mkdir('bench/results', { recursive: true });
  const compose = spawn(
    `${process.cwd()}/node_modules/.bin/mesh-compose`,
    ['-o', `${process.cwd()}/bench/results/mesh-supergraph.graphql`],
    { cwd: 'bench/mesh', env: { ...process.env, ...meshEnv }, stdio: 'ignore' },
  );
  const code = await new Promise((r) => compose.once('exit', r));
  if (code !== 0) throw new Error(`mesh-compose failed with ${code}`);
  // Run the gateway outside bench/mesh so it does not pick up the compose config as its own.
  const child = await start(
    [
      `${process.cwd()}/node_modules/.bin/hive-gateway`,
      'supergraph',
      `${process.cwd()}/bench/results/mesh-supergraph.graphql`,
      '--port',
      String(PORTS.sut),
    ],
    { NODE_ENV: 'production' },
    0,
    /Listening on/,
    '/tmp',
  );
  const url = `http://127.0.0.1:${PORTS.sut}/graphql`;
  return { child, url, operation: (w) => meshOperation(url, w, inputs), stop: () => stop(child) };
}

async function versionOf(pkg: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(`node_modules/${pkg}/package.json`, 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

function table(results: CellResult[], latencyMs: number): string {
  const rows: string[] = [];
  const fmt = (n: number, d = 0) => n.toFixed(d);
  rows.push(`\nUpstream latency ${latencyMs} ms`);
  rows.push(
    '| workload | c | system | req/s | p50 ms | p99 ms | CPU ms/op | RSS MB end / peak | upstream calls/op | errors (timeouts) | vs direct | vs mesh |',
  );
  rows.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const workload of Object.keys(WORKLOADS) as WorkloadName[]) {
    for (const concurrency of CONCURRENCY) {
      const cell = (s: SystemName) =>
        results.find(
          (r) =>
            r.system === s &&
            r.workload === workload &&
            r.latencyMs === latencyMs &&
            r.concurrency === concurrency,
        );
      for (const system of SYSTEMS) {
        const r = cell(system);
        if (!r) continue;
        const direct = cell('direct');
        const mesh = cell('mesh');
        // No ratio against (or of) a cell in which no operation completed: it measured nothing.
        const ratio = (other: CellResult | undefined) =>
          other && other.operations > 0 && r.operations > 0
            ? `${fmt(r.requestsPerSecond / other.requestsPerSecond, 2)}x`
            : '-';
        const errors = `${r.errors}${r.timeouts ? ` (${r.timeouts})` : ''}`;
        const memory = `${fmt(r.rssMb)} / ${fmt(r.peakRssMb)}`;
        rows.push(
          r.operations === 0
            ? `| ${workload} | ${concurrency} | ${system} | no operation completed | - | - | - | ${memory} | - | ${errors} | - | - |`
            : `| ${workload} | ${concurrency} | ${system} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.cpuMsPerOp, 2)} | ${memory} | ${fmt(r.upstreamCallsPerOp, 1)} | ${errors} | ${system === 'direct' ? '' : ratio(direct)} | ${system === 'mesh' ? '' : ratio(mesh)} |`,
        );
      }
    }
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  // This process (load generator) and the emulators share core 1; the system under test gets core 0.
  spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  console.log('building: tsc -p tsconfig.build.json (dist/) and -p tsconfig.bench.json (dist-bench/)');
  for (const project of ['tsconfig.build.json', 'tsconfig.bench.json']) {
    const built = spawnSync(NODE, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`tsc -p ${project} failed`);
  }
  const emulators = await start(
    [
      NODE,
      FLEETGRAPH_CLI,
      'emulate',
      '--kdms-port',
      String(PORTS.kdms),
      '--knox-manage-port',
      String(PORTS.knoxManage),
      '--box-port',
      String(PORTS.box),
      '--fleet-size',
      String(FLEET.size),
      '--fleet-seed',
      FLEET.seed,
    ],
    {},
    1,
    /Ctrl\+C/,
  );
  // The documented 1,800/min Knox Manage quota would cap every system at 30 req/s: lift it for the benchmark.
  await fetch(`${emulatorUrl(PORTS.knoxManage)}/_emulator/rate-limit`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requestsPerMinute: 100_000_000 }),
  });
  const results: CellResult[] = [];
  const started = Date.now();
  try {
    for (const system of SYSTEMS) {
      const sut = await startSystem(system);
      try {
        for (const latencyMs of LATENCIES) {
          await setLatency(latencyMs);
          for (const workload of Object.keys(WORKLOADS) as WorkloadName[]) {
            for (const concurrency of CONCURRENCY) {
              const result = await measureCell(
                system,
                sut.child.pid!,
                sut.operation(workload),
                workload,
                latencyMs,
                concurrency,
              );
              results.push(result);
              process.stdout.write(
                `${system} ${workload} ${latencyMs}ms c=${concurrency}: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.upstreamCallsPerOp.toFixed(1)} calls/op, ${result.errors} errors\n`,
              );
            }
          }
        }
      } finally {
        await sut.stop();
      }
    }
  } finally {
    await stop(emulators);
  }
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const versions = Object.fromEntries(
    await Promise.all(
      [
        '@apollo/server',
        'type-graphql',
        'graphql',
        '@graphql-hive/gateway',
        '@graphql-mesh/compose-cli',
        '@omnigraph/openapi',
      ].map(async (p) => [p, await versionOf(p)]),
    ),
  );
  const report = {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    measureMs: MEASURE_MS,
    warmupMs: WARMUP_MS,
    machine,
    versions,
    workloads: WORKLOADS,
    results,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
  const file = `bench/results/${QUICK ? 'quick' : 'full'}-${report.date.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(LATENCIES.map((l) => table(results, l)).join('\n'));
  console.log(`\nraw results: ${file} (${report.durationSeconds} s)`);
}

(SCALE ? import('./scale.js').then((scale) => scale.main(process.argv.slice(2))) : main()).catch(
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
