import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort } from '../../../examples/supergraph/local-redis.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { emulatorEnv } from '../../../src/server/embedded-upstreams.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { startTsProcess } from '../../helpers/ts-process.js';
import type { TsProcess } from '../../helpers/ts-process.js';
import { eventually } from '../../helpers/wait.js';

/**
 * Issue 12, item 3: `kill -9` during a job-file write lost every job. The file store rewrote one file
 * in place; killed mid-write it was left empty, and Fleetgraph started again with no jobs. Here a real
 * Fleetgraph process takes a burst of uploads and is killed with SIGKILL in the middle of it; started
 * again on the same store, it must know every job it acknowledged — and every upload KDMS received,
 * since a job is recorded before KDMS is called. A store that cannot be read stops start-up instead.
 */
const UPLOAD = 'POST /kdms/v1/devices/upload';
const JOB_FIELDS = 'id uploadId status requested settledBy';

let emulators: RunningEmulators;
let dir: string;
let port: number;
let storeFile: string;
const processes: TsProcess[] = [];

beforeAll(async () => {
  emulators = await startTestEmulators({
    fleet: { size: 20, seed: 'job-store-crash' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  dir = await mkdtemp(join(tmpdir(), 'fleetgraph-crash-'));
  storeFile = join(dir, 'jobs.sqlite');
  port = await freePort();
});
afterAll(async () => {
  processes.forEach((p) => p.kill());
  await emulators?.stop();
  await rm(dir, { recursive: true, force: true });
});

const graphqlUrl = () => `http://127.0.0.1:${port}/graphql`;

/** `npm start` as an operator runs it against the (emulated) real APIs, jobs in `file`. */
async function startFleetgraph(file = storeFile): Promise<TsProcess> {
  const child = await startTsProcess('src/cli.ts', ['serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...emulatorEnv(emulators.urls),
      WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${port}/webhooks/knox`,
      JOB_STORE_FILE: file,
    },
    readyWhen: ' at http://',
  });
  processes.push(child);
  return child;
}

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

type Job = {
  id: string;
  uploadId: string | null;
  status: string;
  requested: number;
  settledBy: string | null;
};
async function allJobs(): Promise<Job[]> {
  const { data } = await gql(`{ uploadJobs(first: 100) { edges { node { ${JOB_FIELDS} } } } }`);
  return (data!.uploadJobs as { edges: Array<{ node: Job }> }).edges.map((e) => e.node);
}

/** SIGKILL, then wait until the port no longer answers (the process is gone, its file lock with it). */
async function killHard(child: TsProcess): Promise<void> {
  child.kill();
  await eventually(
    () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => false,
        () => true,
      ),
    'the killed process letting go of its port',
  );
}

describe('kill -9 during a job-file write loses every job (issue 12, item 3)', () => {
  it('killed in a burst of uploads, restarted: every acknowledged job and every upload KDMS received is there', async () => {
    let fleetgraph = await startFleetgraph();
    emulators.resetCounts();
    // KDMS takes 200 ms per upload, so the kill finds uploads on their way: KDMS takes them after the
    // process died, and only their callbacks will tell.
    await request('PUT', `${emulators.urls.kdms}/_emulator/faults`, {
      latencyMs: 200,
      paths: ['/kdms/v1/devices/upload'],
    });
    const acknowledged: Job[] = [];
    let running = true;
    // Eight callers upload 500 devices each, again and again, until the process dies under them.
    const caller = async () => {
      while (running) {
        try {
          const { data } = await gql(
            `mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { ${JOB_FIELDS} } }`,
            { imeis: freshImeis(500) },
          );
          if (data?.uploadDevices) acknowledged.push(data.uploadDevices as Job);
        } catch {
          return; // the connection died with the process
        }
      }
    };
    const callers = Array.from({ length: 8 }, caller);
    await eventually(() => acknowledged.length >= 40, '40 uploads acknowledged');
    await killHard(fleetgraph);
    running = false;
    await Promise.all(callers);
    await request('DELETE', `${emulators.urls.kdms}/_emulator/faults`);
    const sentToKdms = emulators.requestCounts().kdms[UPLOAD] ?? 0;

    fleetgraph = await startFleetgraph();
    const jobs = await allJobs();
    const known = new Map(jobs.map((j) => [j.id, j]));
    // Every job a caller was told about is there, as it was told.
    for (const job of acknowledged) expect(known.get(job.id)).toMatchObject({ id: job.id, requested: 500 });
    // Every upload that reached KDMS had been recorded first; those whose answer died with the process
    // are UNCONFIRMED.
    expect(jobs.length).toBeGreaterThanOrEqual(sentToKdms);
    const unconfirmed = jobs.filter((j) => j.status === 'UNCONFIRMED').length;
    expect(unconfirmed).toBeGreaterThan(0);

    // KDMS calls back for every upload it took, including those whose answer died with the process:
    // each finds its job (by uploadId, or by its devices for the UNCONFIRMED ones).
    await emulators.kdms.settlePending();
    const settled = (await allJobs()).filter((j) => j.settledBy === 'WEBHOOK');
    expect(settled).toHaveLength(sentToKdms);
    const { size } = await stat(storeFile);
    console.log(
      `${acknowledged.length} acknowledged, ${sentToKdms} sent to KDMS, ${jobs.length} recorded ` +
        `(${unconfirmed} UNCONFIRMED after the restart); ` +
        `all ${settled.length} settled by their callbacks after the restart; store ${(size / 1e6).toFixed(1)} MB ` +
        `for ${jobs.length} jobs of 500 devices`,
    );
    expect(await fleetgraph.terminate()).toBe(0);
  }, 180_000);

  it('a store file that is torn, emptied or not ours stops start-up with a clear message, never an empty start', async () => {
    const cases: Array<[string, (file: string) => Promise<void>, RegExp]> = [
      [
        'torn',
        async (file) => truncate(file, Math.floor((await stat(file)).size / 2)),
        /not a readable SQLite database|SQLite's check fails/,
      ],
      ['emptied', (file) => truncate(file, 0), /the file is empty/],
      [
        'overwritten',
        (file) => writeFile(file, Buffer.alloc(64 * 1024, 0x5a)),
        /not a readable SQLite database \(SQLITE_NOTADB/,
      ],
    ];
    for (const [what, damage, reason] of cases) {
      const file = join(dir, `${what}.sqlite`);
      // A store with jobs in it, written by Fleetgraph and closed cleanly.
      const fleetgraph = await startFleetgraph(file);
      for (let i = 0; i < 5; i++)
        await gql('mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { id } }', {
          imeis: freshImeis(200),
        });
      expect(await fleetgraph.terminate()).toBe(0);
      await damage(file);
      const failure = startFleetgraph(file).then(
        () => 'started',
        (error: Error) => error.message,
      );
      const message = await failure;
      expect(message).not.toBe('started');
      expect(message).toContain(`JOB_STORE_FILE (${file}) cannot be used as Fleetgraph's upload-job store`);
      expect(message).toMatch(reason);
      expect(message).toContain('does not start with an empty store');
      // The message is the whole story: no stack trace.
      expect(message).not.toMatch(/\n\s+at /);
    }
    // The JSON job file of earlier releases is named as such, with what to do.
    const legacy = join(dir, 'jobs.json');
    await writeFile(legacy, '{"cache":[["keyv:fleetgraph:jobs:index",{"value":[]}]]}');
    const message = await startFleetgraph(legacy).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(message).toContain('it holds JSON, the job file of Fleetgraph releases before the SQLite store');
    expect(message).toContain('point JOB_STORE_FILE at a new file');
  }, 180_000);
});

describe('stored records are validated when read (issue 12, item 3)', () => {
  it('one bad record never breaks a list: it is skipped and counted, every other job is served', async () => {
    const file = join(dir, 'records.sqlite');
    // No poller tick during the test: it reads open jobs too, and would count the bad ones again.
    const env = { JOB_STORE_FILE: file, JOB_POLL_INTERVAL_MS: '3600000' };
    const writer = await startTestGraph({ sharedEmulators: emulators, env });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await writer.sdk.UploadDevices({ input: { imeis: freshImeis(2) } })).uploadDevices.id);
    await writer.stop();

    // One record damaged in place (a field of the wrong type), one replaced by text that is not JSON.
    const db = new Database(file);
    const damage = db.prepare<[string, string]>('UPDATE jobs SET record = ? WHERE id = ?');
    const record = JSON.parse(
      db.prepare<[string], { record: string }>('SELECT record FROM jobs WHERE id = ?').get(ids[1]!)!.record,
    ) as Record<string, unknown>;
    damage.run(JSON.stringify({ ...record, requested: 'two' }), ids[1]!);
    damage.run('{"id": "', ids[2]!);
    db.close();

    const reader = await startTestGraph({ sharedEmulators: emulators, env });
    try {
      const listed = (await reader.sdk.UploadJobs({ first: 10 })).uploadJobs!.edges.map((e) => e.node.id);
      expect(listed).toEqual([ids[3], ids[0]]);
      expect((await reader.sdk.UploadJob({ id: ids[1]! })).uploadJob).toBeNull();
      expect((await reader.sdk.UploadJob({ id: ids[0]! })).uploadJob).toMatchObject({
        id: ids[0],
        requested: 2,
      });
      expect(reader.fleetgraph.server.jobs.unreadableRecords).toBe(3);
    } finally {
      await reader.stop();
    }
  });
});
