import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLuhnCheckDigit } from '../../../src/domain/device-identifiers.js';
import { createWebhookSigner } from '../../../src/emulators/kdms/webhook-signer.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { subscribeToJob } from '../../helpers/job-subscriber.js';
import { startWebhookReceiver } from '../../helpers/webhook-receiver.js';

/**
 * Upload and delete jobs end to end over real HTTP: validation before KDMS, the signed webhook, the
 * graphql-ws subscription, restarts, lost callbacks, forged and replayed ones. Waits are driven by
 * the emulator (it settles when told to), never by a clock.
 */
let emulators: RunningEmulators;
let graph: TestGraph;
beforeAll(async () => {
  // Uploads stay pending until a test settles them (asyncDelayMs is an hour).
  emulators = await startTestEmulators({
    fleet: { size: 200, seed: 'jobs' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  graph = await startTestGraph({ sharedEmulators: emulators });
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});
beforeEach(() => emulators.resetCounts());

/** Where KDMS calls this graph back (the address it subscribed at start). */
const webhookUrl = () => graph.url.replace('localhost', '127.0.0.1').replace('/graphql', '/webhooks/knox');
const kdmsUploads = () => emulators.requestCounts().kdms['POST /kdms/v1/devices/upload'] ?? 0;
/** KDMS's id for a job's operation (the job's own id is Fleetgraph's). */
async function uploadIdOf(jobId: string): Promise<string> {
  const { body } = await graph.post('query ($id: ID!) { uploadJob(id: $id) { uploadId } }', { id: jobId });
  return (body.data?.uploadJob as { uploadId: string }).uploadId;
}
const settle = () => emulators.kdms.settlePending();

describe('uploadDevices', () => {
  it('uploads 1,000 IMEIs; a graphql-ws subscriber sees PENDING then COMPLETED through the webhook', async () => {
    const imeis = freshImeis(1000);
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
    expect(job).toMatchObject({
      operation: 'UPLOAD',
      status: 'PENDING',
      requested: 1000,
      succeeded: null,
      targetServices: ['KAI'],
    });
    const subscriber = subscribeToJob(graph.url, job.id);
    try {
      await subscriber.waitFor('PENDING');
      await settle();
      await subscriber.waitFor('COMPLETED');
      expect(subscriber.statuses).toEqual(['PENDING', 'COMPLETED']);
    } finally {
      await subscriber.close();
    }
    const { uploadJob } = await graph.sdk.UploadJob({ id: job.id, first: 100 });
    expect(uploadJob).toMatchObject({
      status: 'COMPLETED',
      succeeded: 1000,
      failed: 0,
      failures: [],
      settledBy: 'WEBHOOK',
      completedAt: expect.any(String),
    });
    expect(uploadJob!.devices!.edges).toHaveLength(100);
    expect(uploadJob!.devices!.pageInfo.hasNextPage).toBe(true);
    expect(kdmsUploads()).toBe(1);
  });

  it('refuses a batch with one bad check digit among 1,000, naming it, and sends nothing to KDMS', async () => {
    const imeis = freshImeis(1000);
    const bad = imeis[417]!.slice(0, 14) + String((Number(imeis[417]![14]) + 1) % 10);
    imeis[417] = bad;
    const { body } = await graph.post(
      'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
      { input: { imeis } },
    );
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      invalidItems: [
        {
          field: 'imeis',
          index: 417,
          value: bad,
          reason: 'the last digit is not the Luhn check digit of the first 14',
        },
      ],
    });
    expect(body.errors?.[0]?.message).toContain(bad);
    expect(kdmsUploads()).toBe(0);
  });

  it('lists every invalid item (IMEIs and serial numbers) and refuses empty and oversized batches', async () => {
    const { body } = await graph.post(
      'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
      {
        input: {
          imeis: ['12345', '490154203237518', 'abcdefghijklmno'],
          serialNumbers: ['R58N12ABCDE', 'bad serial', '490154203237518'],
        },
      },
    );
    expect(
      (body.errors?.[0]?.extensions?.invalidItems as Array<{ value: string }>).map((i) => i.value),
    ).toEqual(['12345', 'abcdefghijklmno', 'bad serial', '490154203237518']);
    const empty = await graph.post('mutation { uploadDevices(input: {}) { id } }');
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const huge = Array.from({ length: 10_001 }, (_, i) =>
      withLuhnCheckDigit(`98${String(i).padStart(12, '0')}`),
    );
    const tooMany = await graph.post(
      'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
      { input: { imeis: huge } },
    );
    expect(tooMany.body.errors?.[0]?.message).toContain('at most 10000 distinct devices');
    expect(kdmsUploads()).toBe(0);
  });

  it('sends each duplicate once and reports it', async () => {
    const [a, b] = freshImeis(2);
    const { uploadDevices: job } = await graph.sdk.UploadDevices({
      input: { imeis: [a!, b!, a!], serialNumbers: ['R58N12ABCDE', 'R58N12ABCDE'] },
    });
    expect(job).toMatchObject({ requested: 3, duplicates: [a, 'R58N12ABCDE'] });
  });

  it('reports each device KDMS refused, with its code (IMEIs in another account)', async () => {
    const good = freshImeis(2);
    const foreign = emulators.fleet.foreignImeis.slice(0, 2);
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: [...good, ...foreign] } });
    await settle();
    const { uploadJob } = await graph.sdk.UploadJob({ id: job.id });
    expect(uploadJob).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      succeeded: 2,
      failed: 2,
      settledBy: 'WEBHOOK',
    });
    expect(uploadJob!.failures).toEqual(
      foreign.map((imei) => ({
        identifier: imei,
        code: 'IMEI_EXIST_IN_DIFFERENT_ACCOUNT',
        message: `Device IMEI (${imei}) already uploaded to another account`,
      })),
    );
  });

  it('lists jobs newest first, by status', async () => {
    const uploadJobs = (await graph.sdk.UploadJobs({ first: 100, status: 'PARTIALLY_COMPLETED' }))
      .uploadJobs!;
    expect(uploadJobs.edges.length).toBeGreaterThan(0);
    expect(uploadJobs.edges.every((e) => e.node.status === 'PARTIALLY_COMPLETED')).toBe(true);
    const all = (await graph.sdk.UploadJobs({ first: 2 })).uploadJobs!;
    const next = (await graph.sdk.UploadJobs({ first: 2, after: all.pageInfo.endCursor })).uploadJobs!;
    expect(all.edges[0]!.node.submittedAt >= next.edges[0]!.node.submittedAt).toBe(true);
  });
});

describe('deleteDevices', () => {
  it('deletes through KDMS and reports devices KDMS does not hold', async () => {
    const imeis = freshImeis(2);
    await graph.sdk.UploadDevices({ input: { imeis } });
    await settle();
    const [unknown] = freshImeis(1);
    const { deleteDevices: job } = await graph.sdk.DeleteDevices({ input: { imeis: [...imeis, unknown!] } });
    expect(job).toMatchObject({ operation: 'DELETE', status: 'PENDING' });
    await settle();
    const { uploadJob } = await graph.sdk.UploadJob({ id: job.id });
    expect(uploadJob).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      succeeded: 2,
      failed: 1,
      failures: [{ identifier: unknown, code: 'INVALID_DEVICE_ID' }],
    });
    expect((await graph.sdk.DeviceDetail({ imei: imeis[0] })).device).toBeNull();
  });
});

describe('the webhook receiver', () => {
  /** Points KDMS's callbacks at a capturing receiver, so tests can replay, reorder or forge them. */
  async function captureCallbacks(
    count: number,
  ): Promise<Array<{ body: Buffer; signature: string; jobId: string }>> {
    const receiver = await startWebhookReceiver();
    const ids: string[] = [];
    try {
      await graph.fleetgraph.server.jobs.ensureSubscription(receiver.url);
      for (let i = 0; i < count; i++)
        ids.push((await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } })).uploadDevices.id);
      await settle();
      const received = await receiver.waitFor(count);
      const byUploadId = new Map(
        await Promise.all(ids.map(async (id) => [await uploadIdOf(id), id] as const)),
      );
      return received.map((r) => ({
        body: r.body,
        signature: String(r.headers['x-wsm-signature']),
        jobId: byUploadId.get(JSON.parse(r.body.toString('utf8')).data.uploadId as string)!,
      }));
    } finally {
      await graph.fleetgraph.server.jobs.ensureSubscription(webhookUrl());
      await receiver.close();
    }
  }
  const deliver = (body: Buffer | string, signature?: string) =>
    fetch(webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-wsm-signature': signature } : {}) },
      body,
    });
  const jobOf = async (id: string) => (await graph.sdk.UploadJob({ id })).uploadJob!;

  it('settles jobs whose callbacks arrive out of order, and ignores a replayed callback', async () => {
    const [first, second] = await captureCallbacks(2);
    expect((await jobOf(first!.jobId)).status).toBe('PENDING');
    expect(await (await deliver(second!.body, second!.signature)).json()).toEqual({ outcome: 'applied' });
    expect(await (await deliver(first!.body, first!.signature)).json()).toEqual({ outcome: 'applied' });
    expect((await jobOf(first!.jobId)).status).toBe('COMPLETED');
    expect((await jobOf(second!.jobId)).status).toBe('COMPLETED');
    const before = await jobOf(first!.jobId);
    const replay = await deliver(first!.body, first!.signature);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ outcome: 'duplicate' });
    expect(await jobOf(first!.jobId)).toEqual(before);
  });

  it('refuses unsigned, tampered and foreign-signed callbacks with 401 and changes nothing', async () => {
    const [callback] = await captureCallbacks(1);
    const tampered = Buffer.from(callback!.body.toString('utf8').replace('"SUCCESS"', '"FAILURE"'));
    const otherSigner = await createWebhookSigner('Not Samsung');
    const responses = [
      await deliver(callback!.body),
      await deliver(callback!.body, 'not.a.jws'),
      await deliver(tampered, callback!.signature),
      await deliver(callback!.body, await otherSigner.sign(callback!.body)),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expect((await jobOf(callback!.jobId)).status).toBe('PENDING');
    expect((await deliver(callback!.body, callback!.signature)).status).toBe(200);
    expect((await jobOf(callback!.jobId)).status).toBe('COMPLETED');
  });

  it('answers 400 naming the JSON path to a signed callback it cannot read, and changes nothing', async () => {
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } });
    const uploadId = await uploadIdOf(job.id);
    const broken: Array<[unknown, string]> = [
      [{ eventId: 'broken-1', eventType: 'KDMS_DEVICE_UPLOAD', data: { results: [] } }, 'data.uploadId'],
      [
        { eventId: 'broken-2', data: { uploadId, results: [{ status: 'SUCCESS' }] } },
        'data.results[0].deviceId',
      ],
      [{ eventId: 'broken-3', data: { uploadId, results: 'all good' } }, 'data.results'],
      [{ data: { uploadId, results: [] } }, 'eventId'],
      [[], '(the body)'],
    ];
    for (const [payload, path] of broken) {
      const body = Buffer.from(JSON.stringify(payload));
      const response = await deliver(body, await emulators.kdms.signCallback(body));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_body',
        path,
        message: expect.stringContaining(`${path}: `),
      });
    }
    const notJson = Buffer.from('{"eventId": ');
    expect((await deliver(notJson, await emulators.kdms.signCallback(notJson))).status).toBe(400);
    expect(await jobOf(job.id)).toMatchObject({ status: 'PENDING', settledBy: null });
  });

  it('applies a signed callback that carries only the fields it needs', async () => {
    const imeis = freshImeis(2);
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
    // No event type, time or counts; one result without a status but with an error code.
    const payload = {
      eventId: `minimal-${job.id}`,
      data: {
        uploadId: await uploadIdOf(job.id),
        results: [
          { deviceId: imeis[0], status: 'SUCCESS' },
          { deviceId: imeis[1], errorCode: 'INVALID_DEVICE_ID' },
        ],
      },
    };
    const body = Buffer.from(JSON.stringify(payload));
    const response = await deliver(body, await emulators.kdms.signCallback(body));
    expect(await response.json()).toEqual({ outcome: 'applied' });
    expect(await jobOf(job.id)).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      succeeded: 1,
      failed: 1,
      failures: [{ identifier: imeis[1], code: 'INVALID_DEVICE_ID', message: '' }],
      settledBy: 'WEBHOOK',
      completedAt: expect.any(String),
    });
  });

  describe('signed callbacks are validated by schema (issue 12, low items)', () => {
    /** A signed callback for `jobId` with these results; the answer and the job afterwards. */
    async function callBack(jobId: string, results: unknown, extra: Record<string, unknown> = {}) {
      const body = Buffer.from(
        JSON.stringify({
          eventId: `validated-${Math.random()}`,
          eventType: 'KDMS_DEVICE_UPLOAD',
          ...extra,
          data: { uploadId: await uploadIdOf(jobId), results },
        }),
      );
      const response = await deliver(body, await emulators.kdms.signCallback(body));
      return {
        status: response.status,
        contentType: response.headers.get('content-type'),
        answer: (await response.json()) as Record<string, unknown>,
        job: await jobOf(jobId),
      };
    }
    const unchanged = { status: 'PENDING', succeeded: null, failed: null, settledBy: null };

    it('results: [null] is refused with a JSON 400 naming the path, and keeps nothing', async () => {
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } });
      const { status, contentType, answer, job: after } = await callBack(job.id, [null]);
      expect([status, contentType]).toEqual([400, expect.stringContaining('application/json')]);
      expect(answer).toMatchObject({ error: 'invalid_body', path: 'data.results[0]' });
      expect(after).toMatchObject(unchanged);
    });

    it('three results for a one-device job count that device once: succeeded 1, failed 0', async () => {
      const [imei] = freshImeis(1);
      const [other, another] = freshImeis(2);
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: [imei!] } });
      const results = [imei, other, another].map((deviceId) => ({ deviceId, status: 'SUCCESS' }));
      const { answer, job: after } = await callBack(job.id, results);
      expect(answer).toEqual({ outcome: 'applied' });
      expect(after).toMatchObject({
        status: 'COMPLETED',
        requested: 1,
        succeeded: 1,
        failed: 0,
        failures: [],
      });
    });

    it('a device reported twice, or none at all, is refused with 400 and keeps nothing', async () => {
      const [imei] = freshImeis(1);
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: [imei!] } });
      const twice = await callBack(job.id, [
        { deviceId: imei, status: 'SUCCESS' },
        { deviceId: imei, status: 'FAILURE', errorCode: 'INVALID_DEVICE_ID' },
      ]);
      expect([twice.status, twice.answer.path]).toEqual([400, 'data.results[1].deviceId']);
      const none = await callBack(job.id, []);
      expect([none.status, none.answer.path]).toEqual([400, 'data.results']);
      expect(none.job).toMatchObject(unchanged);
    });

    it('a device the callback does not report failed (NOT_REPORTED): counts stay within the job', async () => {
      const imeis = freshImeis(3);
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
      const { job: after } = await callBack(job.id, [{ deviceId: imeis[0], status: 'SUCCESS' }]);
      expect(after).toMatchObject({
        status: 'PARTIALLY_COMPLETED',
        succeeded: 1,
        failed: 2,
        failures: [
          { identifier: imeis[1], code: 'NOT_REPORTED' },
          { identifier: imeis[2], code: 'NOT_REPORTED' },
        ],
      });
    });

    it('a result without a status (nor an error code) is not a success: 400, and the job stays PENDING', async () => {
      const imeis = freshImeis(2);
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
      const {
        status,
        answer,
        job: after,
      } = await callBack(job.id, [{ deviceId: imeis[0], status: 'SUCCESS' }, { deviceId: imeis[1] }]);
      expect(status).toBe(400);
      expect(answer).toMatchObject({
        path: 'data.results[1]',
        message: expect.stringContaining('a result needs a status or an errorCode'),
      });
      expect(after).toMatchObject(unchanged);
    });

    it('a bad eventTime and an object errorCode settle the job, which stays readable', async () => {
      const imeis = freshImeis(2);
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
      const { answer } = await callBack(
        job.id,
        [
          { deviceId: imeis[0], status: 'SUCCESS' },
          { deviceId: imeis[1], status: 'FAILURE', errorCode: { nested: 'object' } },
        ],
        { eventTime: 'the day before yesterday' },
      );
      expect(answer).toEqual({ outcome: 'applied' });
      // Read twice, through the typed SDK (DateTime parsed): the job is served, now and later.
      for (let i = 0; i < 2; i++)
        expect(await jobOf(job.id)).toMatchObject({
          status: 'PARTIALLY_COMPLETED',
          failures: [{ identifier: imeis[1], code: 'UNKNOWN', message: '' }],
          completedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
      const listed = await graph.sdk.UploadJobs({ first: 100 });
      expect(listed.uploadJobs!.edges.map((e) => e.node.id)).toContain(job.id);
    });
  });

  it('settles correctly when the callback may beat the 202 (KDMS settling at once)', async () => {
    await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { asyncDelayMs: 0 });
    try {
      const ids = await Promise.all(
        Array.from(
          { length: 10 },
          async () => (await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } })).uploadDevices.id,
        ),
      );
      await emulators.kdms.drainDeliveries();
      const statuses = await Promise.all(ids.map(async (id) => (await jobOf(id)).status));
      expect(statuses).toEqual(Array(10).fill('COMPLETED'));
    } finally {
      await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { asyncDelayMs: 3_600_000 });
    }
  });

  it('is subscribed at start: KDMS calls this graph for both events', async () => {
    const token = await emulators.kdms.tokens.issue('fleetgraph-dev', ['kdms.devices'], 60).token;
    const { json } = await request<{ subscriptions: Array<{ callbackUrl: string; events: string[] }> }>(
      'GET',
      `${emulators.urls.kdms}/kwn/v1/subscriptions`,
      undefined,
      { authorization: `Bearer ${token}` },
    );
    const ours = json.subscriptions.filter((s) => s.callbackUrl === webhookUrl());
    expect(ours.flatMap((s) => s.events).sort()).toEqual(['KDMS_DEVICE_DELETE', 'KDMS_DEVICE_UPLOAD']);
  });

  it('accepts detached signatures (header..signature) too, for large callbacks', async () => {
    await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookSignature: 'detached' });
    try {
      const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: freshImeis(500) } });
      await settle();
      const uploadId = await uploadIdOf(job.id);
      expect(emulators.kdms.deliveries.filter((d) => d.uploadId === uploadId).map((d) => d.outcome)).toEqual([
        'delivered',
      ]);
      expect((await jobOf(job.id)).status).toBe('COMPLETED');
    } finally {
      await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookSignature: 'attached' });
    }
  });
});

describe('jobs survive trouble', () => {
  it('a job submitted before a restart is known after it and settled through the new server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetgraph-jobs-'));
    const env = { JOB_STORE_FILE: join(dir, 'jobs.json') };
    try {
      const before = await startTestGraph({ sharedEmulators: emulators, env });
      const { uploadDevices: job } = await before.sdk.UploadDevices({ input: { imeis: freshImeis(3) } });
      await before.stop();
      const after = await startTestGraph({ sharedEmulators: emulators, env });
      try {
        expect((await after.sdk.UploadJob({ id: job.id })).uploadJob).toMatchObject({
          id: job.id,
          status: 'PENDING',
          requested: 3,
        });
        await settle();
        expect((await after.sdk.UploadJob({ id: job.id })).uploadJob).toMatchObject({
          status: 'COMPLETED',
          succeeded: 3,
          settledBy: 'WEBHOOK',
        });
      } finally {
        await after.stop();
        // Give the shared emulators' callbacks back to the suite's graph.
        await graph.fleetgraph.server.jobs.ensureSubscription(webhookUrl());
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a job whose callback is lost is settled by polling KDMS', async () => {
    const polling = await startTestGraph({
      env: { WEBHOOK_TIMEOUT_MS: '100', JOB_POLL_INTERVAL_MS: '50' },
      emulators: { fleet: { size: 20 } },
    });
    try {
      await request('PUT', `${polling.emulators.urls.kdms}/_emulator/async`, {
        webhookMode: 'drop',
        asyncDelayMs: 0,
      });
      const good = freshImeis(2);
      const foreign = polling.emulators.fleet.foreignImeis[0]!;
      const { uploadDevices: job } = await polling.sdk.UploadDevices({
        input: { imeis: [...good, foreign] },
      });
      const subscriber = subscribeToJob(polling.url, job.id);
      try {
        await subscriber.waitFor('PARTIALLY_COMPLETED');
      } finally {
        await subscriber.close();
      }
      const { uploadJob } = await polling.sdk.UploadJob({ id: job.id });
      expect(uploadJob).toMatchObject({
        status: 'PARTIALLY_COMPLETED',
        succeeded: 2,
        failed: 1,
        settledBy: 'POLLING',
        failures: [{ identifier: foreign, code: 'NOT_REGISTERED' }],
      });
      expect(polling.emulators.kdms.deliveries.map((d) => d.outcome)).toEqual(['dropped']);
    } finally {
      await polling.stop();
    }
  });
});
