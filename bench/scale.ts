import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { emulatorEnv } from '../src/server/embedded-upstreams.js';
import { startLocalPostgres } from '../examples/supergraph/local-postgres.js';
import type { LocalPostgres } from '../examples/supergraph/local-postgres.js';

/**
 * `npm run bench -- --scale`: how Fleetgraph behaves as the fleet grows, with and without the fleet
 * index. For each size × mode it starts fresh emulators and a fresh compiled server (`dist/`), measures
 * the start-up sync (until /readyz answers 200) and then a few queries one at a time, warm.
 *
 * Fresh emulators per cell, not per size: the Knox Manage emulator counts its quota in fixed one-minute
 * windows, so a previous cell's calls would otherwise eat into the next cell's sync.
 */

/** `index`: embedded SQLite index; `shared`: the index in a PostgreSQL (as replicas share it); `noindex`: per-request reads. */
type Mode = 'index' | 'shared' | 'noindex';
const indexed = (mode: Mode) => mode !== 'noindex';
type QueryName = 'page' | 'entities' | 'filtered' | 'summary';
type Api = 'kdms' | 'knoxManage' | 'box';
type Json = Record<string, unknown>;

const PORTS = { sut: 4620, kdms: 4621, knoxManage: 4622, box: 4623 } as const;
const APIS: Api[] = ['kdms', 'knoxManage', 'box'];
const WARMUP_REQUESTS = 3;
/** A full 100k sync within the 1,800/min quota should take minutes; this is far beyond any healthy one. */
const SYNC_TIMEOUT_MS = 45 * 60_000;
const REQUEST_TIMEOUT_MS = 120_000;
const EMULATOR_START_TIMEOUT_MS = 10 * 60_000;
/** List endpoints of Knox Manage (devices, users) and Box (devices): what the index exists to avoid per request. */
const LIST_ENDPOINT = /selectDeviceList|selectUsers|device\/list$/;
const PROGRESS_EVERY_MS = 5_000;

const PAGE =
  '{ devices(first: 100) { edges { node { id imei serialNumber model management { status } access { name loginBlocked } } } } }';
const ENTITIES =
  'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on Device { imei management { status } access { name } } } }';
const INDEXED_FILTER =
  '{ devices(first: 100, filter: { managementStatus: ACTIVATED, loginBlocked: false }, orderBy: { field: LAST_CONNECTED_AT, direction: DESC }) { totalCount edges { node { id } } } }';
const FILTERED: Record<Mode, string> = {
  shared: INDEXED_FILTER,
  index:
    '{ devices(first: 100, filter: { managementStatus: ACTIVATED, loginBlocked: false }, orderBy: { field: LAST_CONNECTED_AT, direction: DESC }) { totalCount edges { node { id } } } }',
  // The live path supports this filter (Knox Manage's own status parameter), not loginBlocked or orderBy.
  noindex: '{ devices(first: 100, filter: { managementStatus: ACTIVATED }) { edges { node { id } } } }',
};
const SUMMARY =
  '{ fleetSummary { total bySource { value count } byManagementStatus { value count } byModel { value count } } }';

interface Options {
  sizes: number[];
  modes: Mode[];
  samples: number;
  quick: boolean;
}

interface QueryResult {
  query: QueryName;
  samples: number;
  errors: number;
  /** Answers that say a quota was hit (HTTP 429, RATE_LIMITED, or a message naming 429 / rate limit). */
  rateLimited: number;
  firstErrors: string[];
  p50Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  /** The first of the warm-up requests (for the fleet page, the second request after /readyz turned 200). */
  firstWarmupMs: number | null;
  listCallsPerRequest: number;
  callsPerRequest: number;
  callsByEndpoint: Record<Api, Record<string, number>>;
}

interface CellResult {
  size: number;
  mode: Mode;
  error: string | null;
  /** Whether /readyz carried `fleetIndex` (false in index mode means the server has no index yet). */
  indexReported: boolean;
  emulators: { startMs: number; rssMb: number; peakRssMb: number } | null;
  sync: {
    /** Server spawn until /readyz first answered 200. */
    ms: number;
    /** Server spawn until /healthz answered (process up, listening). */
    listeningMs: number;
    calls: Record<Api, number>;
    callsByEndpoint: Record<Api, Record<string, number>>;
    knoxManageCallsPerMinute: number;
    /** 429s the server received from upstreams (its own metrics), by upstream. */
    upstream429: Record<string, number> | null;
    readyz: unknown;
  } | null;
  /** The first GraphQL request after /readyz turned 200 (a fleet page): what the sync left cold. */
  firstRequestMs: number | null;
  queries: QueryResult[];
  /** Knox Manage calls per minute over the measured queries (warm-up excluded). */
  knoxManageCallsPerMinuteMeasured: number | null;
  /** 429s the server received from upstreams while the queries ran. */
  upstream429Measured: Record<string, number> | null;
  server: { rssMb: number; peakRssMb: number } | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      modes: { type: 'string', default: 'index,shared,noindex' },
      samples: { type: 'string' },
    },
  });
  const sizes = (values.sizes ?? (values.quick ? '1000,10000' : '1000,10000,100000'))
    .split(',')
    .map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100 || n > 1_000_000))
    throw new Error(`--sizes must be whole numbers from 100 to 1,000,000, got "${values.sizes}"`);
  const modes = values.modes.split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'index' && m !== 'shared' && m !== 'noindex')
      throw new Error(`--modes takes index, shared and/or noindex, got "${m}"`);
  const samples = Number(values.samples ?? (values.quick ? 10 : 30));
  if (!Number.isInteger(samples) || samples < 1)
    throw new Error(`--samples must be a whole number ≥ 1, got "${values.samples}"`);
  return { sizes, modes: modes as Mode[], samples, quick: values.quick };
}

// ---------------------------------------------------------------------------------------------------------
// Child processes: each in its own process group (detached), so one kill reaches the process and anything it
// started, and a Ctrl+C in the terminal reaches only this process, which then stops them in order.

const children = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();
/** Set once a signal arrived: the cell loop may still be running and must not start anything new. */
let stopping = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, 'SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => killGroup(child, 'SIGKILL'))]);
  }
  children.delete(child);
}

async function stopEverything(): Promise<void> {
  await Promise.all([...children].map(stopChild));
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  cleanups.clear();
}

function installSignalHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    stopping = true;
    console.error(`\n${signal}: stopping the emulators and the server`);
    stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort when something throws past every finally: no emulator may outlive the benchmark.
  process.once('exit', () => {
    for (const child of children) killGroup(child, 'SIGKILL');
  });
}

interface Spawned {
  child: ChildProcess;
  /** The last few KB of its stdout and stderr, for error messages. */
  tail(): string;
  /** Whether the start of its output (the banner) matches. */
  outputMatches(pattern: RegExp): boolean;
}

function startChild(command: string[], env: Record<string, string>, core: number | null): Spawned {
  if (stopping) throw new Error('stopping');
  const [file, ...args] = core === null ? command : ['taskset', '-c', String(core), ...command];
  const child = spawn(file!, args, {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  let seen = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-8000);
    // Patterns are looked for in the first 64 KB only (the banner), so a chatty server costs nothing.
    if (seen.length < 65_536) seen += text;
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return { child, tail: () => output, outputMatches: (pattern) => pattern.test(seen) };
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

// ---------------------------------------------------------------------------------------------------------
// /proc and HTTP helpers

async function memoryMb(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

const base = (port: number) => `http://127.0.0.1:${port}`;

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function emulatorCounts(): Promise<Record<Api, Record<string, number>>> {
  const counts = {} as Record<Api, Record<string, number>>;
  for (const api of APIS) {
    const response = await fetch(`${base(PORTS[api])}/_emulator/requests`);
    const all = (await response.json()) as Record<string, number>;
    // Token requests are not API calls: a token serves many of them.
    counts[api] = Object.fromEntries(Object.entries(all).filter(([endpoint]) => !endpoint.includes('oauth')));
  }
  return counts;
}

async function resetEmulatorCounts(): Promise<void> {
  for (const api of APIS) await fetch(`${base(PORTS[api])}/_emulator/reset`, { method: 'POST' });
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function listCalls(counts: Record<Api, Record<string, number>>): number {
  let total = 0;
  for (const api of ['knoxManage', 'box'] as const)
    for (const [endpoint, n] of Object.entries(counts[api])) if (LIST_ENDPOINT.test(endpoint)) total += n;
  return total;
}

/**
 * 429 answers the server got from its upstreams, from its own Prometheus counter; null when /metrics is not
 * served on the GraphQL port (it may move to an admin port).
 */
async function upstream429s(): Promise<Record<string, number> | null> {
  try {
    const response = await fetch(`${base(PORTS.sut)}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return null;
    const text = await response.text();
    const counts: Record<string, number> = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('fleetgraph_upstream_requests_total{') || !line.includes('status="429"')) continue;
      const upstream = /upstream="([^"]*)"/.exec(line)?.[1] ?? 'unknown';
      counts[upstream] = (counts[upstream] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return counts;
  } catch {
    return null;
  }
}

function difference(after: Record<string, number> | null, before: Record<string, number> | null) {
  if (!after || !before) return null;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

// ---------------------------------------------------------------------------------------------------------
// Starting the pieces

function compiledCli(): string {
  // tsconfig.build.json's rootDir decides where tsc puts it: src → dist/cli.js, . → dist/src/cli.js.
  for (const candidate of ['dist/cli.js', 'dist/src/cli.js']) if (existsSync(candidate)) return candidate;
  throw new Error('npm run build produced neither dist/cli.js nor dist/src/cli.js');
}

async function build(): Promise<string> {
  console.log('building: npm run build');
  const started = performance.now();
  const npm = spawn('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => npm.once('exit', resolve));
  if (code !== 0) throw new Error(`npm run build failed (exit ${code})`);
  const cli = compiledCli();
  console.log(`built ${cli} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return cli;
}

async function startEmulators(
  cli: string,
  size: number,
  core: number | null,
): Promise<{ spawned: Spawned; startMs: number }> {
  const started = performance.now();
  const spawned = startChild(
    [
      process.execPath,
      cli,
      'emulate',
      '--kdms-port',
      String(PORTS.kdms),
      '--knox-manage-port',
      String(PORTS.knoxManage),
      '--box-port',
      String(PORTS.box),
      '--fleet-size',
      String(size),
    ],
    {},
    core,
  );
  let lastProgress = started;
  for (;;) {
    if (exited(spawned.child)) throw new Error(`the emulators exited:\n${spawned.tail()}`);
    // The banner comes after all three listen; then each port must answer too.
    if (spawned.outputMatches(/Ctrl\+C/)) {
      let all = true;
      for (const api of APIS) all &&= await answers(`${base(PORTS[api])}/_emulator/requests`);
      if (all) break;
    }
    const now = performance.now();
    if (now - started > EMULATOR_START_TIMEOUT_MS)
      throw new Error(`the emulators did not start within ${EMULATOR_START_TIMEOUT_MS / 1000} s`);
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      console.log(`  emulators (${size.toLocaleString('en')} devices) starting… ${seconds(now - started)} s`);
      lastProgress = now;
    }
    await sleep(100);
  }
  return { spawned, startMs: performance.now() - started };
}

/** The server's settings: the upstream wiring and the index; everything else stays at its defaults. */
function serverEnv(mode: Mode, indexFile: string | null, databaseUrl: string | null): Record<string, string> {
  return {
    ...emulatorEnv({ kdms: base(PORTS.kdms), knoxManage: base(PORTS.knoxManage), box: base(PORTS.box) }),
    // Development: production demands caller auth. Knox Manage's budget (KNOX_MANAGE_REQUESTS_PER_MINUTE)
    // stays at its 1,800/min default, as does the emulator's quota: the sync must live within it.
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(PORTS.sut),
    JOB_STORE_FILE: 'memory',
    WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
    ...(mode === 'noindex'
      ? { FLEET_INDEX: 'off' }
      : { FLEET_INDEX: 'on', FLEET_INDEX_FILE: indexFile ?? 'memory' }),
    ...(databaseUrl ? { FLEET_INDEX_DATABASE_URL: databaseUrl } : {}),
  };
}

/** Settings worth keeping with the results (no credentials). */
function recordedEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/SECRET|KEY|CLIENT_ID|TOKEN/.test(k)));
}

interface ReadyState {
  status: number;
  body: Json | null;
}

async function readyz(): Promise<ReadyState | null> {
  try {
    const response = await fetch(`${base(PORTS.sut)}/readyz`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    let body: Json | null = null;
    try {
      body = JSON.parse(text) as Json;
    } catch {
      // Not JSON: the status alone decides.
    }
    return { status: response.status, body };
  } catch {
    return null;
  }
}

/** `fleetIndex` of a /readyz answer, read defensively: its shape may still change. */
function fleetIndexOf(body: Json | null): Json | null {
  const value = body?.fleetIndex;
  return value && typeof value === 'object' ? (value as Json) : null;
}

function describeIndex(index: Json): string {
  const parts: string[] = [];
  if (index.status !== undefined) parts.push(String(index.status));
  if (typeof index.progressPercent === 'number') parts.push(`${index.progressPercent.toFixed(0)}%`);
  if (index.records && typeof index.records === 'object')
    parts.push(
      `records ${Object.entries(index.records as Json)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ')}`,
    );
  if (index.engine !== undefined) parts.push(`engine ${String(index.engine)}`);
  if (index.lastError) parts.push(`lastError ${JSON.stringify(index.lastError).slice(0, 200)}`);
  return parts.join(' · ');
}

async function startServer(
  cli: string,
  env: Record<string, string>,
  core: number | null,
): Promise<{ spawned: Spawned; listeningMs: number; readyMs: number; ready: ReadyState }> {
  const started = performance.now();
  const spawned = startChild([process.execPath, cli, 'serve'], env, core);
  const fail = (why: string) => new Error(`${why}\n--- server output (tail) ---\n${spawned.tail()}`);
  let listeningMs: number | null = null;
  let lastProgress = started;
  let lastLine = '';
  for (;;) {
    if (exited(spawned.child)) throw fail(`the server exited (${spawned.child.exitCode})`);
    const now = performance.now();
    if (listeningMs === null) {
      if (await answers(`${base(PORTS.sut)}/healthz`)) listeningMs = performance.now() - started;
      else if (now - started > 120_000) throw fail('the server did not listen within 120 s');
    }
    if (listeningMs !== null) {
      const state = await readyz();
      if (state?.status === 200)
        return { spawned, listeningMs, readyMs: performance.now() - started, ready: state };
      if (now - started > SYNC_TIMEOUT_MS)
        throw fail(`/readyz was not 200 within ${SYNC_TIMEOUT_MS / 1000} s`);
      const index = fleetIndexOf(state?.body ?? null);
      const line = `  sync: /readyz ${state?.status ?? 'no answer'}${index ? ` · ${describeIndex(index)}` : ''}`;
      if (now - lastProgress >= PROGRESS_EVERY_MS || (line !== lastLine && now - lastProgress >= 1000)) {
        console.log(`${line} · ${seconds(now - started)} s`);
        lastProgress = now;
        lastLine = line;
      }
    }
    await sleep(listeningMs === null ? 100 : 250);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Queries

interface Answer {
  ok: boolean;
  ms: number;
  data: Json | null;
  problem: string | null;
  rateLimited: boolean;
}

const edgesOf = (value: unknown): Json[] =>
  value && typeof value === 'object' && Array.isArray((value as Json).edges)
    ? ((value as Json).edges as Json[])
    : [];

async function graphql(
  query: string,
  variables: Json,
  check: (data: Json) => string | null,
): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${base(PORTS.sut)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    let json: Json;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      return {
        ok: false,
        ms,
        data: null,
        problem: `HTTP ${response.status}: ${text.slice(0, 200)}`,
        rateLimited: response.status === 429,
      };
    }
    const errors = Array.isArray(json.errors) ? (json.errors as Json[]) : [];
    const rateLimited =
      response.status === 429 ||
      errors.some((e) => {
        const code = (e.extensions as Json | undefined)?.code;
        return code === 'RATE_LIMITED' || /\b429\b|rate.?limit/i.test(String(e.message));
      });
    const data = (json.data as Json | null | undefined) ?? null;
    if (response.status !== 200 || errors.length > 0) {
      const first = errors[0];
      const code = (first?.extensions as Json | undefined)?.code;
      return {
        ok: false,
        ms,
        data,
        problem: first
          ? `${String(code ?? 'ERROR')}: ${String(first.message).slice(0, 200)}`
          : `HTTP ${response.status}`,
        rateLimited,
      };
    }
    const problem = data ? check(data) : 'no data';
    return { ok: problem === null, ms, data, problem, rateLimited };
  } catch (error) {
    const ms = performance.now() - started;
    return {
      ok: false,
      ms,
      data: null,
      problem: error instanceof Error ? error.message : String(error),
      rateLimited: false,
    };
  }
}

function checkPage(data: Json): string | null {
  const n = edgesOf(data.devices).length;
  return n === 100 ? null : `expected 100 edges, got ${n}`;
}

function checkEntities(expected: number) {
  return (data: Json): string | null => {
    const entities = data._entities;
    if (!Array.isArray(entities)) return '_entities is not a list';
    if (entities.length !== expected) return `expected ${expected} entities, got ${entities.length}`;
    const missing = entities.filter((e) => !e || typeof e !== 'object').length;
    return missing ? `${missing} of ${expected} entities are null` : null;
  };
}

function checkFiltered(data: Json): string | null {
  const connection = data.devices as Json | null;
  const n = edgesOf(connection).length;
  const total = typeof connection?.totalCount === 'number' ? connection.totalCount : null;
  // A fleet with fewer matches than a page: the page holds all of them.
  const expected = total === null ? 100 : Math.min(100, total);
  return n === expected ? null : `expected ${expected} edges (totalCount ${total ?? 'n/a'}), got ${n}`;
}

function checkSummary(data: Json): string | null {
  const summary = data.fleetSummary as Json | null;
  if (!summary || typeof summary.total !== 'number') return 'fleetSummary.total missing';
  return summary.total > 0 ? null : 'fleetSummary.total is 0';
}

interface QuerySpec {
  name: QueryName;
  query: string;
  variables: Json;
  check: (data: Json) => string | null;
}

const percentile = (sorted: number[], p: number): number | null =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)]! : null;

async function measureQuery(spec: QuerySpec, samples: number): Promise<QueryResult & { elapsedMs: number }> {
  let errors = 0;
  let rateLimited = 0;
  const firstErrors: string[] = [];
  const note = (answer: Answer) => {
    if (answer.rateLimited) rateLimited += 1;
    if (!answer.ok) {
      errors += 1;
      if (firstErrors.length < 3 && answer.problem && !firstErrors.includes(answer.problem))
        firstErrors.push(answer.problem);
    }
  };
  let firstWarmupMs: number | null = null;
  for (let i = 0; i < WARMUP_REQUESTS; i++) {
    const answer = await graphql(spec.query, spec.variables, spec.check);
    firstWarmupMs ??= answer.ms;
    note(answer);
  }
  await resetEmulatorCounts();
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < samples; i++) {
    const answer = await graphql(spec.query, spec.variables, spec.check);
    note(answer);
    // A failed query is not timed: a fast error would flatter the percentiles.
    if (answer.ok) latencies.push(answer.ms);
  }
  const elapsedMs = performance.now() - started;
  const counts = await emulatorCounts();
  latencies.sort((a, b) => a - b);
  const calls = APIS.reduce((total, api) => total + sum(counts[api]), 0);
  return {
    query: spec.name,
    samples: latencies.length,
    errors,
    rateLimited,
    firstErrors,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
    firstWarmupMs,
    listCallsPerRequest: listCalls(counts) / samples,
    callsPerRequest: calls / samples,
    callsByEndpoint: counts,
    elapsedMs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// One cell: size × mode

const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function runCell(
  cli: string,
  size: number,
  mode: Mode,
  samples: number,
  cores: { server: number | null; emulators: number | null },
): Promise<CellResult> {
  const result: CellResult = {
    size,
    mode,
    error: null,
    indexReported: false,
    emulators: null,
    sync: null,
    firstRequestMs: null,
    queries: [],
    knoxManageCallsPerMinuteMeasured: null,
    upstream429Measured: null,
    server: null,
  };
  let emulators: Spawned | null = null;
  let server: Spawned | null = null;
  // A file-backed SQLite index (not `memory`), so the server's RSS shows what an operator's would.
  const indexDir = mode === 'index' ? await mkdtemp(join(tmpdir(), 'fleetgraph-scale-')) : null;
  const removeIndexDir = async () => {
    if (indexDir) await rm(indexDir, { recursive: true, force: true });
  };
  cleanups.add(removeIndexDir);
  // The shared engine: a private PostgreSQL for this cell (examples/supergraph/local-postgres.ts).
  let postgres: LocalPostgres | null = null;
  try {
    if (mode === 'shared') {
      postgres = await startLocalPostgres();
      cleanups.add(postgres.stop);
    }
    console.log(`\n== ${size.toLocaleString('en')} devices, ${mode} ==`);
    const started = await startEmulators(cli, size, cores.emulators);
    emulators = started.spawned;
    result.emulators = { startMs: started.startMs, ...(await memoryMb(emulators.child.pid!)) };
    console.log(
      `  emulators up in ${seconds(started.startMs)} s (RSS ${result.emulators.rssMb.toFixed(0)} MB)`,
    );

    await resetEmulatorCounts();
    const env = serverEnv(
      mode,
      indexDir ? join(indexDir, 'fleet-index.sqlite') : null,
      postgres?.url ?? null,
    );
    const up = await startServer(cli, env, cores.server);
    server = up.spawned;
    const syncCounts = await emulatorCounts();
    const index = fleetIndexOf(up.ready.body);
    result.indexReported = index !== null;
    const calls = Object.fromEntries(APIS.map((api) => [api, sum(syncCounts[api])])) as Record<Api, number>;
    const syncMinutes = up.readyMs / 60_000;
    result.sync = {
      ms: up.readyMs,
      listeningMs: up.listeningMs,
      calls,
      callsByEndpoint: syncCounts,
      knoxManageCallsPerMinute: calls.knoxManage / syncMinutes,
      upstream429: await upstream429s(),
      readyz: up.ready.body,
    };
    console.log(
      `  ready in ${seconds(up.readyMs)} s (listening after ${seconds(up.listeningMs)} s); calls KM ${calls.knoxManage} · Box ${calls.box} · KDMS ${calls.kdms}; KM ${result.sync.knoxManageCallsPerMinute.toFixed(0)}/min`,
    );
    if (index) console.log(`  fleetIndex: ${describeIndex(index)}`);
    else if (indexed(mode))
      console.log('  WARNING: /readyz carries no fleetIndex: this server has no index; measured as it is');

    const before429 = await upstream429s();
    const page = await graphql(PAGE, {}, checkPage);
    if (!page.ok || !page.data) throw new Error(`the first fleet page failed: ${page.problem}`);
    result.firstRequestMs = page.ms;
    console.log(`  first fleet page after ready: ${page.ms.toFixed(1)} ms`);
    const representations = edgesOf(page.data.devices).map((edge) => {
      const node = edge.node as { imei?: string | null; serialNumber?: string | null };
      return node.imei
        ? { __typename: 'Device', imei: node.imei }
        : { __typename: 'Device', serialNumber: node.serialNumber };
    });
    const specs: QuerySpec[] = [
      { name: 'page', query: PAGE, variables: {}, check: checkPage },
      {
        name: 'entities',
        query: ENTITIES,
        variables: { r: representations },
        check: checkEntities(representations.length),
      },
      { name: 'filtered', query: FILTERED[mode], variables: {}, check: checkFiltered },
      ...(indexed(mode)
        ? [{ name: 'summary' as const, query: SUMMARY, variables: {}, check: checkSummary }]
        : []),
    ];
    let measuredMs = 0;
    let measuredKnoxManage = 0;
    for (const spec of specs) {
      const { elapsedMs, ...q } = await measureQuery(spec, samples);
      measuredMs += elapsedMs;
      measuredKnoxManage += sum(q.callsByEndpoint.knoxManage);
      result.queries.push(q);
      console.log(
        `  ${spec.name.padEnd(8)} p50 ${fmt(q.p50Ms)} ms · p99 ${fmt(q.p99Ms)} ms · first warm-up ${fmt(q.firstWarmupMs)} ms · list calls/req ${q.listCallsPerRequest.toFixed(2)} · calls/req ${q.callsPerRequest.toFixed(2)}${q.errors ? ` · ${q.errors} errors (${q.firstErrors.join(' | ')})` : ''}${q.rateLimited ? ` · ${q.rateLimited} rate-limited` : ''}`,
      );
    }
    result.knoxManageCallsPerMinuteMeasured = measuredKnoxManage / (measuredMs / 60_000);
    result.upstream429Measured = difference(await upstream429s(), before429);
    result.server = await memoryMb(server.child.pid!);
    result.emulators = { startMs: started.startMs, ...(await memoryMb(emulators.child.pid!)) };
    console.log(
      `  server RSS ${result.server.rssMb.toFixed(0)} MB, peak ${result.server.peakRssMb.toFixed(0)} MB; emulators RSS ${result.emulators.rssMb.toFixed(0)} MB, peak ${result.emulators.peakRssMb.toFixed(0)} MB`,
    );
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    if (!stopping) console.error(`  FAILED: ${result.error}`);
  } finally {
    if (server) await stopChild(server.child);
    if (emulators) await stopChild(emulators.child);
    await removeIndexDir();
    cleanups.delete(removeIndexDir);
    if (postgres) {
      await postgres.stop();
      cleanups.delete(postgres.stop);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Report

const fmt = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined ? '-' : n.toFixed(digits);
const sizeLabel = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

function table(results: CellResult[]): string {
  const rows = [
    '| size | mode | sync s | sync calls KM / Box / KDMS | KM calls/min (sync) | page p50 / p99 ms | entities p50 / p99 ms | filtered p50 / p99 ms | summary p50 / p99 ms | list calls/req page / ent / filt | calls/req page / ent / filt | errors | rate-limited | RSS MB end / peak |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    if (r.error && !r.sync) {
      rows.push(
        `| ${sizeLabel(r.size)} | ${r.mode} | failed: ${r.error.split('\n')[0]!.slice(0, 120)} |||||||||||||`,
      );
      continue;
    }
    const q = (name: QueryName) => r.queries.find((x) => x.query === name);
    const pair = (name: QueryName) => {
      const x = q(name);
      return x ? `${fmt(x.p50Ms)} / ${fmt(x.p99Ms)}` : '-';
    };
    const per = (key: 'listCallsPerRequest' | 'callsPerRequest') =>
      (['page', 'entities', 'filtered'] as const).map((n) => fmt(q(n)?.[key], 2)).join(' / ');
    const errors = r.queries.reduce((a, x) => a + x.errors, 0);
    const limited = r.queries.reduce((a, x) => a + x.rateLimited, 0);
    const mode = indexed(r.mode) && !r.indexReported ? `${r.mode} (not reported)` : r.mode;
    rows.push(
      `| ${sizeLabel(r.size)} | ${mode} | ${r.sync ? seconds(r.sync.ms) : '-'} | ${r.sync ? `${r.sync.calls.knoxManage} / ${r.sync.calls.box} / ${r.sync.calls.kdms}` : '-'} | ${fmt(r.sync?.knoxManageCallsPerMinute, 0)} | ${pair('page')} | ${pair('entities')} | ${pair('filtered')} | ${pair('summary')} | ${per('listCallsPerRequest')} | ${per('callsPerRequest')} | ${errors}${r.error ? ' (+ failed)' : ''} | ${limited} | ${r.server ? `${r.server.rssMb.toFixed(0)} / ${r.server.peakRssMb.toFixed(0)}` : '-'} |`,
    );
  }
  return rows.join('\n');
}

/** Largest fleet against the smallest, per mode, against the targets (≤ 2× latency, ≤ 400 MB, no list calls, no 429). */
function verdicts(results: CellResult[], modes: Mode[]): string[] {
  const lines: string[] = [];
  for (const mode of modes) {
    const cells = results
      .filter((r) => r.mode === mode && r.queries.length > 0)
      .sort((a, b) => a.size - b.size);
    if (cells.length < 2) continue;
    const small = cells[0]!;
    const large = cells.at(-1)!;
    const ratio = (name: QueryName) => {
      const a = small.queries.find((x) => x.query === name)?.p50Ms;
      const b = large.queries.find((x) => x.query === name)?.p50Ms;
      return a && b ? `${(b / a).toFixed(2)}` : '-';
    };
    const names: QueryName[] = indexed(mode)
      ? ['page', 'entities', 'filtered', 'summary']
      : ['page', 'entities', 'filtered'];
    lines.push(
      `${mode}: ${sizeLabel(large.size)} vs ${sizeLabel(small.size)} (p50): ${names.map((n) => `${n === 'entities' ? 'entities' : n} ${ratio(n)}x`).join(', ')} (target ≤ 2x)`,
    );
  }
  for (const [mode, target] of [
    ['index', 400],
    ['shared', 250],
  ] as const) {
    const cells = results.filter((r) => r.mode === mode && r.server).sort((a, b) => a.size - b.size);
    const large = cells.at(-1);
    if (!large) continue;
    const list = large.queries
      .filter((q) => q.query !== 'summary')
      .reduce((a, q) => a + q.listCallsPerRequest, 0);
    lines.push(
      `${mode} at ${sizeLabel(large.size)}: peak RSS ${large.server!.peakRssMb.toFixed(0)} MB, ${large.server!.rssMb.toFixed(0)} MB after (target ≤ ${target} MB); list calls per request ${list.toFixed(2)} (target 0)${large.indexReported ? '' : ' — NOTE: the server reported no fleetIndex'}`,
    );
  }
  const limited = results.reduce((a, r) => a + r.queries.reduce((b, q) => b + q.rateLimited, 0), 0);
  const upstream = results.reduce(
    (a, r) => a + sum(r.sync?.upstream429 ?? {}) + sum(r.upstream429Measured ?? {}),
    0,
  );
  lines.push(`429s reaching callers: ${limited} (target 0); 429s the server got from upstreams: ${upstream}`);
  return lines;
}

export async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  installSignalHandlers();
  for (const port of Object.values(PORTS))
    if (await answers(base(port)))
      throw new Error(`port ${port} already answers: stop whatever runs there (a previous run?) and retry`);
  if (options.sizes.some((s) => s >= 250_000) && totalmem() < 8 * 2 ** 30)
    console.warn('WARNING: 250k devices on less than 8 GiB of memory may not fit (emulators and server)');
  const cli = await build();
  // Server on core 0; emulators and this load generator on core 1, as `npm run bench` does.
  const pin = cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
  const cores = pin ? { server: 0, emulators: 1 } : { server: null, emulators: null };
  if (pin) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  else console.warn('WARNING: taskset or a second core is missing: processes are not pinned');

  const started = Date.now();
  const results: CellResult[] = [];
  try {
    for (const size of options.sizes)
      for (const mode of options.modes) results.push(await runCell(cli, size, mode, options.samples, cores));
  } finally {
    await stopEverything();
  }
  const report = {
    date: new Date().toISOString(),
    kind: 'scale',
    options: { ...options, warmupRequests: WARMUP_REQUESTS },
    compiled: cli,
    pinned: pin,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    serverEnv: Object.fromEntries(
      options.modes.map((m) => [
        m,
        recordedEnv(
          serverEnv(
            m,
            '<temp dir>/fleet-index.sqlite',
            m === 'shared' ? 'postgres://fleetgraph@<private cluster>/fleetgraph' : null,
          ),
        ),
      ]),
    ),
    queries: { page: PAGE, entities: ENTITIES, filtered: FILTERED, summary: SUMMARY },
    results,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/scale-${report.date.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${table(results)}\n`);
  for (const line of verdicts(results, options.modes)) console.log(line);
  console.log(`\nraw results: ${file} (${report.durationSeconds} s)`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}
