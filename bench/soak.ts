import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { withLuhnCheckDigit } from '../src/domain/device-identifiers.js';
import { SCOPES } from '../src/domain/scopes.js';
import { DEV_CREDENTIALS } from '../src/emulators/dev-credentials.js';
import { signCallerToken } from '../src/server/dev-token.js';
import { emulatorEnv } from '../src/server/embedded-upstreams.js';
import { KNOX_MANAGE_REQUESTS_PER_MINUTE } from '../src/upstreams/knox-manage/knox-manage.wire.js';

/**
 * `npm run soak`: a bounded run (a few minutes, loopback only) of what hurt Fleetgraph under attack:
 * thousands of subscriptions opened and ended every way, oversized and malformed requests, and uploads
 * with the server killed (`kill -9`) mid-burst twice. It prints RSS at start and end, the job-event
 * listener count, jobs acknowledged vs jobs Fleetgraph knows, KDMS uploads made, and secrets found in
 * the server's output; it exits 1 when an invariant breaks. Its fairness phase runs one greedy caller
 * and one normal caller against Knox Manage for a bounded time and prints each one's success rate and
 * the Knox Manage calls per minute against the documented quota.
 */
const PORTS = { kdms: 4181, knoxManage: 4182, box: 4183, server: 4180 };
const NODE = process.execPath;
const SWC = ['--import', '@swc-node/register/esm-register'];
const SECRET = 'soak-caller-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'S3cret-Passw0rd-LEAK!';
const SUBSCRIPTION_ROUNDS = 4;
const SUBSCRIPTIONS_PER_ROUND = 1000;
const UPLOADS = 60;
/** The fairness phase: how long, and how hard the greedy caller pushes. */
const FAIRNESS_MS = 20_000;
const GREEDY_CONCURRENCY = 20;
/** The normal caller: one request at a time, a pause between them. */
const NORMAL_PAUSE_MS = 100;
/** Knox Manage's documented quota per client (KNOX_MANAGE_REQUESTS_PER_MINUTE). */
const KNOX_MANAGE_QUOTA = KNOX_MANAGE_REQUESTS_PER_MINUTE;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const url = (port: number) => `http://127.0.0.1:${port}`;
const graphqlUrl = `${url(PORTS.server)}/graphql`;

function start(
  command: string[],
  env: Record<string, string>,
  ready: RegExp,
  output: string[],
): Promise<ChildProcess> {
  const child = spawn(NODE, [...SWC, ...command], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      seen += chunk.toString();
      if (ready.test(seen)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${command.join(' ')} exited with ${code}:\n${seen.slice(-2000)}`)),
    );
  });
}

async function stop(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

async function gql<T>(
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: T; errors?: unknown[] }> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: T; errors?: unknown[] };
}

/** The sum of a metric's samples whose labels contain every `labels` pair. */
async function metricSum(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url(PORTS.server)}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${url(PORTS.server)}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** A raw request, so any header size and any body reach the server as sent. */
function raw(path: string, headers: Record<string, string>, body: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: PORTS.server, path, method: 'POST', headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

let imeiCounter = 0;
const freshImeis = (n: number) =>
  Array.from({ length: n }, () => withLuhnCheckDigit(`991234${String(imeiCounter++).padStart(8, '0')}`));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgraph-soak-'));
  const output: string[] = [];
  const emulatorOutput: string[] = [];
  const token = await signCallerToken(SECRET, { scopes: Object.values(SCOPES) });
  const env = {
    NODE_ENV: 'production',
    PORT: String(PORTS.server),
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: SECRET,
    ...emulatorEnv({ kdms: url(PORTS.kdms), knoxManage: url(PORTS.knoxManage), box: url(PORTS.box) }),
    WEBHOOK_PUBLIC_URL: `${url(PORTS.server)}/webhooks/knox`,
    // A short wait for callbacks: jobs whose callback was lost with a killed server are settled by polling.
    WEBHOOK_TIMEOUT_MS: '3000',
    JOB_POLL_INTERVAL_MS: '1000',
    JOB_STORE_FILE: join(dir, 'jobs.sqlite'),
    LOG_LEVEL: 'trace',
  };
  const emulators = await start(
    [
      'src/cli.ts',
      'emulate',
      '--kdms-port',
      String(PORTS.kdms),
      '--knox-manage-port',
      String(PORTS.knoxManage),
      '--box-port',
      String(PORTS.box),
      '--fleet-size',
      '1000',
      '--kdms-async-delay-ms',
      '500',
    ],
    {},
    /Ctrl\+C/,
    emulatorOutput,
  );
  let server: ChildProcess | null = null;
  const startServer = async () => {
    server = await start(['src/cli.ts', 'serve'], env, /Fleetgraph at/, output);
    return server;
  };
  const problems: string[] = [];
  try {
    await startServer();
    const rssStart = await rssMb(server!.pid!);
    console.log(`server up; RSS ${rssStart} MB`);

    // 1. Subscriptions, ended every way: unsubscribe, disconnect, unknown jobs, and jobs that settle.
    const kdmsAsync = (body: unknown) =>
      fetch(`${url(PORTS.kdms)}/_emulator/async`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (let round = 0; round < SUBSCRIPTION_ROUNDS; round++) {
      // Jobs that stay pending while they are watched (KDMS settles them when told to).
      await kdmsAsync({ asyncDelayMs: 600_000 });
      const watched: string[] = [];
      for (let j = 0; j < 5; j++) {
        const job = await gql<{ uploadDevices: { id: string } }>(
          token,
          'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
          { input: { imeis: freshImeis(2) } },
        );
        if (job.data) watched.push(job.data.uploadDevices.id);
      }
      const clients = Array.from({ length: 10 }, () =>
        createClient({
          url: graphqlUrl.replace('http', 'ws'),
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          retryAttempts: 0,
          lazy: false,
        }),
      );
      const unsubscribes: Array<() => void> = [];
      let ended = 0;
      for (let i = 0; i < SUBSCRIPTIONS_PER_ROUND; i++) {
        const client = clients[i % clients.length]!;
        // Nine in ten watch a pending job; the rest ask for a job that does not exist.
        const id = i % 10 === 9 ? `soak-unknown-${round}-${i}` : watched[i % watched.length]!;
        unsubscribes.push(
          client.subscribe(
            { query: `subscription { uploadJobChanged(id: "${id}") { id status } }` },
            { next: () => undefined, error: () => undefined, complete: () => void (ended += 1) },
          ),
        );
      }
      await sleep(1500);
      const open = await metric('fleetgraph_job_event_listeners');
      // Two fifths are unsubscribed, one connection's share goes with its socket, the rest end when
      // their jobs settle (or at once, for unknown jobs); then every connection closes.
      unsubscribes.slice(0, (2 * SUBSCRIPTIONS_PER_ROUND) / 5).forEach((end) => end());
      await clients[0]!.dispose();
      await fetch(`${url(PORTS.kdms)}/_emulator/async/settle`, { method: 'POST' });
      await sleep(1500);
      await Promise.all(clients.map((c) => c.dispose()));
      await sleep(1000);
      const left = await metric('fleetgraph_job_event_listeners');
      console.log(
        `subscriptions round ${round + 1}: ${SUBSCRIPTIONS_PER_ROUND} opened (${open} listeners at peak), ` +
          `${ended} ended at the client; all ended: ${left} listeners left; RSS ${await rssMb(server!.pid!)} MB`,
      );
      if (left !== 0)
        problems.push(`round ${round + 1}: ${left} job-event listeners left after every subscription ended`);
    }
    await kdmsAsync({ asyncDelayMs: 500 });

    // 2. Oversized and malformed requests.
    const statuses = new Map<string, number[]>();
    const record = (what: string, status: number) =>
      statuses.set(what, [...(statuses.get(what) ?? []), status]);
    for (let i = 0; i < 50; i++) {
      record(
        '100 KB bearer header',
        await raw(
          '/graphql',
          { authorization: `Bearer ${'x'.repeat(100_000)}`, 'content-type': 'application/json' },
          '{}',
        ),
      );
      record(
        '2 MB body',
        await raw(
          '/graphql',
          { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          Buffer.alloc(2_000_000, 'a'),
        ),
      );
      record(
        'malformed JSON with a password',
        await raw(
          '/graphql',
          { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          `{"query":"mutation ($p: String!) { authenticateUser(userId: \\"u\\", password: $p) { authenticated } }","variables":{"p":"${PASSWORD}"},}`,
        ),
      );
      record(
        '20 MB webhook body',
        await raw(
          '/webhooks/knox',
          { 'content-type': 'application/json', 'x-wsm-signature': 'a.b.c' },
          Buffer.alloc(20_000_000, 'a'),
        ),
      );
      record(
        'authenticateUser with a password',
        (
          await gql(
            token,
            'mutation ($p: String!) { authenticateUser(userId: "user-0001", password: $p) { authenticated } }',
            { p: PASSWORD },
          )
        ).errors
          ? 400
          : 200,
      );
    }
    for (const [what, list] of statuses) {
      const counts = [...new Set(list)].map((s) => `${s} × ${list.filter((x) => x === s).length}`).join(', ');
      console.log(`${what}: ${counts}`);
    }

    // 3. Uploads, with the server killed mid-burst twice; unacknowledged uploads are retried with their key.
    const kdmsUploadCalls = async () =>
      ((await (await fetch(`${url(PORTS.kdms)}/_emulator/requests`)).json()) as Record<string, number>)[
        'POST /kdms/v1/devices/upload'
      ] ?? 0;
    const uploadsBefore = await kdmsUploadCalls();
    const acknowledged = new Map<string, string>();
    const pending = Array.from({ length: UPLOADS }, (_, i) => ({
      key: `soak-upload-${i}`,
      imeis: freshImeis(3),
    }));
    const kills = [Math.floor(UPLOADS / 3), Math.floor((2 * UPLOADS) / 3)];
    let submitted = 0;
    while (pending.length > 0) {
      const batch = pending.splice(0, 5);
      const answers = batch.map(async (upload) => {
        try {
          const answer = await gql<{ uploadDevices: { id: string } }>(
            token,
            'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id status } }',
            { input: { imeis: upload.imeis, idempotencyKey: upload.key } },
          );
          if (answer.data?.uploadDevices) acknowledged.set(upload.key, answer.data.uploadDevices.id);
          else pending.push(upload);
        } catch {
          pending.push(upload); // the server died under us: send it again with the same key
        }
      });
      submitted += batch.length;
      if (kills.length > 0 && submitted >= kills[0]!) {
        kills.shift();
        await sleep(5);
        await stop(server, 'SIGKILL');
        await Promise.all(answers);
        console.log(
          `kill -9 mid-burst after ${submitted} uploads sent (${acknowledged.size} acknowledged); restarting`,
        );
        await startServer();
      } else {
        await Promise.all(answers);
      }
    }
    // Let callbacks and polling settle what is left.
    await sleep(6000);
    const known = await gql<{
      uploadJobs: { edges: Array<{ node: { id: string; idempotencyKey: string | null; status: string } }> };
    }>(token, '{ uploadJobs(first: 100) { edges { node { id idempotencyKey status } } } }');
    const jobs = (known.data?.uploadJobs.edges.map((e) => e.node) ?? []).filter((j) =>
      j.idempotencyKey?.startsWith('soak-upload-'),
    );
    const keys = new Set(jobs.map((j) => j.idempotencyKey));
    const missing = [...acknowledged.keys()].filter((k) => !keys.has(k));
    const kdmsUploads = (await kdmsUploadCalls()) - uploadsBefore;
    const byStatus = jobs.reduce<Record<string, number>>(
      (acc, j) => ({ ...acc, [j.status]: (acc[j.status] ?? 0) + 1 }),
      {},
    );
    console.log(
      `uploads: ${UPLOADS} submitted, ${acknowledged.size} acknowledged, ${jobs.length} jobs known ` +
        `${JSON.stringify(byStatus)}, ${kdmsUploads} KDMS upload calls`,
    );
    if (acknowledged.size !== UPLOADS)
      problems.push(`${UPLOADS - acknowledged.size} uploads were never acknowledged`);
    if (missing.length)
      problems.push(
        `${missing.length} acknowledged jobs unknown after the kills: ${missing.slice(0, 5).join(', ')}`,
      );
    if (jobs.length !== UPLOADS) problems.push(`${jobs.length} jobs known for ${UPLOADS} keys`);
    if (kdmsUploads > UPLOADS)
      problems.push(`${kdmsUploads} KDMS uploads for ${UPLOADS} batches: some were sent twice`);

    // 4. Fairness: a greedy caller and a normal caller share Knox Manage for a bounded time.
    await fairnessPhase(problems);

    const rssEnd = await rssMb(server!.pid!);
    console.log(`RSS: ${rssStart} MB at start, ${rssEnd} MB at the end (the last restart)`);
  } finally {
    await stop(server);
    await stop(emulators);
    await rm(dir, { recursive: true, force: true });
  }

  const secrets = {
    AUTH_JWT_SECRET: SECRET,
    'the caller token': token,
    'the password': PASSWORD,
    'KDMS client secret': DEV_CREDENTIALS.kdms.clientSecret,
    'Knox Manage client secret': DEV_CREDENTIALS.knoxManage.clientSecret,
    'Box API key': DEV_CREDENTIALS.box.apiKey,
  };
  const log = output.join('');
  const found = Object.entries(secrets).filter(([, value]) => log.includes(value));
  console.log(
    `secrets found in the server's output (${log.split('\n').length} lines at trace level): ${found.length}${found.length ? ` (${found.map(([k]) => k).join(', ')})` : ''}`,
  );
  if (found.length) problems.push(`secrets in the log: ${found.map(([k]) => k).join(', ')}`);
  // The CLI's start banner is plain text; anything else outside a JSON line (a stack trace, an HTML page) is a leak.
  const stray = log
    .split('\n')
    .filter(
      (line) => line.trim() !== '' && !line.trim().startsWith('{') && /error|<html|^\s+at /i.test(line),
    );
  console.log(`stray non-JSON error lines in the server's output: ${stray.length}`);
  if (stray.length) problems.push(`non-JSON error output, e.g. ${stray[0]!.slice(0, 120)}`);

  if (problems.length) {
    console.log(`\nFAILED:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  console.log('\nsoak passed');
}

/**
 * One greedy caller (device reads at concurrency GREEDY_CONCURRENCY, ignoring retryAfter) and one normal
 * caller (one read at a time) for FAIRNESS_MS. The normal caller must keep being served, and Knox Manage
 * must never answer 429: Fleetgraph refuses the greedy caller's excess itself.
 */
async function fairnessPhase(problems: string[]): Promise<void> {
  const greedyToken = await signCallerToken(SECRET, { subject: 'soak-greedy', scopes: [SCOPES.read] });
  const normalToken = await signCallerToken(SECRET, { subject: 'soak-normal', scopes: [SCOPES.read] });
  // Device IMEIs from the listing (its list reads are shared and cached; they are not the point here).
  const imeis: string[] = [];
  let after: string | null = null;
  do {
    const page: {
      data?: {
        devices: {
          edges: Array<{ node: { imei: string | null } }>;
          pageInfo: { endCursor: string | null; hasNextPage: boolean };
        };
      };
    } = await gql(
      normalToken,
      'query ($after: String) { devices(first: 100, after: $after) { edges { node { imei } } pageInfo { endCursor hasNextPage } } }',
      { after },
    );
    imeis.push(...(page.data?.devices.edges.flatMap((e) => (e.node.imei ? [e.node.imei] : [])) ?? []));
    after = page.data?.devices.pageInfo.hasNextPage ? page.data.devices.pageInfo.endCursor : null;
  } while (after && imeis.length < 1000);
  if (imeis.length < 20) {
    problems.push(`fairness: only ${imeis.length} device IMEIs listed`);
    return;
  }
  const greedyImeis = imeis.slice(0, Math.floor(imeis.length / 2));
  const normalImeis = imeis.slice(Math.floor(imeis.length / 2));
  const query = 'query ($imei: String) { device(imei: $imei) { imei management { status } } }';
  const tally = { greedy: { ok: 0, limited: 0, other: 0 }, normal: { ok: 0, limited: 0, other: 0 } };
  const read = async (who: 'greedy' | 'normal', token: string, imei: string) => {
    const answer = await gql(token, query, { imei }).catch(() => ({ errors: [{}] }));
    const codes = ((answer.errors ?? []) as Array<{ extensions?: { code?: string } }>).map(
      (e) => e.extensions?.code,
    );
    if (codes.length === 0) tally[who].ok += 1;
    else if (codes.includes('RATE_LIMITED')) tally[who].limited += 1;
    else tally[who].other += 1;
  };
  const knoxManageCalls = () => metricSum('fleetgraph_upstream_requests_total', { upstream: 'KNOX_MANAGE' });
  const callsBefore = await knoxManageCalls();
  const throttledBefore = await metricSum('fleetgraph_upstream_requests_total', {
    upstream: 'KNOX_MANAGE',
    status: '429',
  });
  const started = performance.now();
  const running = () => performance.now() - started < FAIRNESS_MS;
  let next = 0;
  const greedy = Array.from({ length: GREEDY_CONCURRENCY }, async () => {
    while (running()) await read('greedy', greedyToken, greedyImeis[next++ % greedyImeis.length]!);
  });
  const normal = (async () => {
    for (let i = 0; running(); i++) {
      await read('normal', normalToken, normalImeis[i % normalImeis.length]!);
      await sleep(NORMAL_PAUSE_MS);
    }
  })();
  await Promise.all([...greedy, normal]);
  const minutes = (performance.now() - started) / 60_000;
  const calls = (await knoxManageCalls()) - callsBefore;
  const perMinute = Math.round(calls / minutes);
  const throttled =
    (await metricSum('fleetgraph_upstream_requests_total', { upstream: 'KNOX_MANAGE', status: '429' })) -
    throttledBefore;
  const rate = (t: { ok: number; limited: number; other: number }) => {
    const total = t.ok + t.limited + t.other;
    return { total, percent: total ? Math.round((1000 * t.ok) / total) / 10 : 0 };
  };
  const g = rate(tally.greedy);
  const n = rate(tally.normal);
  console.log(
    `fairness (${FAIRNESS_MS / 1000} s): greedy caller ${g.percent}% served of ${g.total} ` +
      `(${tally.greedy.limited} RATE_LIMITED, ${tally.greedy.other} other errors); normal caller ${n.percent}% ` +
      `served of ${n.total} (${tally.normal.limited} RATE_LIMITED, ${tally.normal.other} other errors); ` +
      `Knox Manage: ${calls} calls in ${Math.round(minutes * 60)} s (${perMinute}/min at that pace) against a quota of ${KNOX_MANAGE_QUOTA} in any minute, ${throttled} answered 429`,
  );
  if (n.percent < 99) problems.push(`fairness: the normal caller was served ${n.percent}% of the time`);
  // The phase is shorter than the budget's minute: all of its calls must fit in one quota.
  if (FAIRNESS_MS <= 60_000 && calls > KNOX_MANAGE_QUOTA)
    problems.push(
      `fairness: ${calls} Knox Manage calls within a minute, over the quota of ${KNOX_MANAGE_QUOTA}`,
    );
  if (throttled > 0) problems.push(`fairness: Knox Manage answered 429 ${throttled} times`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
