import { request as httpRequest } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import type { KdmsOperationAccepted, KnoxTokenResponse } from '../../../src/upstreams/kdms/kdms.wire.js';
import type { KnoxManageTokenResponse } from '../../../src/upstreams/knox-manage/knox-manage.wire.js';
import { bearer, postForm, postJson, request } from '../../helpers/http.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startWebhookReceiver } from '../../helpers/webhook-receiver.js';

/**
 * What the emulators add beyond the APIs they speak: request counters, fault injection over HTTP,
 * token expiry, the rate limit, webhook delivery modes and their OpenAPI documents.
 */
let e: RunningEmulators;
beforeAll(async () => {
  e = await startTestEmulators({ fleet: { size: 200, seed: 'controls' } });
});
afterAll(() => e.stop());
afterEach(async () => {
  for (const url of Object.values(e.urls)) await request('DELETE', `${url}/_emulator/faults`);
});

const boxList = () =>
  postJson<{ status: string }>(
    `${e.urls.box}/box/srv/1.1/admin/device/list`,
    {},
    { 'x-fh-auth-user': 'fleetgraph-dev-key' },
  );
const setFaults = (url: string, faults: unknown) =>
  request<{ problems?: string[] }>('PUT', `${url}/_emulator/faults`, faults);

async function kdmsToken(): Promise<string> {
  const res = await postForm<KnoxTokenResponse>(`${e.urls.kdms}/ams/v1/oauth2/token`, {
    grant_type: 'client_credentials',
    client_id: 'fleetgraph-dev',
    client_secret: 'fleetgraph-dev-secret',
  });
  return res.json.access_token;
}

/** The token, or undefined when the token endpoint did not issue one (a 429 burst). */
async function knoxManageToken(): Promise<string | undefined> {
  const res = await postForm<KnoxManageTokenResponse>(`${e.urls.knoxManage}/emm/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: 'fleetgraph-dev@fleetgraph.test',
    client_secret: 'fleetgraph-dev-secret',
  });
  const token = res.json.access_token;
  return token === undefined ? undefined : String(token);
}

describe('request counters', () => {
  it('count API requests per method and path, not control calls, and reset to zero', async () => {
    await request('POST', `${e.urls.box}/_emulator/reset`);
    await boxList();
    await boxList();
    await request('GET', `${e.urls.box}/box/srv/1.1/admin/device/list`, undefined, {
      'x-fh-auth-user': 'wrong',
    });
    const counts = await request<Record<string, number>>('GET', `${e.urls.box}/_emulator/requests`);
    expect(counts.json).toEqual({
      'GET /box/srv/1.1/admin/device/list': 1,
      'POST /box/srv/1.1/admin/device/list': 2,
    });
    expect(e.requestCounts().box).toEqual(counts.json);
    expect((await request('POST', `${e.urls.box}/_emulator/reset`)).status).toBe(204);
    expect((await request('GET', `${e.urls.box}/_emulator/requests`)).json).toEqual({});
  });

  it('count routes with path parameters under their template', async () => {
    await request('POST', `${e.urls.kdms}/_emulator/reset`);
    const token = await kdmsToken();
    await request('GET', `${e.urls.kdms}/kwn/v1/subscriptions/abc`, undefined, bearer(token));
    await request('GET', `${e.urls.kdms}/kwn/v1/subscriptions/def`, undefined, bearer(token));
    expect(e.requestCounts().kdms).toEqual({
      'GET /kwn/v1/subscriptions/{subscriptionId}': 2,
      'POST /ams/v1/oauth2/token': 1,
    });
  });
});

describe('fault injection over HTTP', () => {
  it('fails the next N requests with the configured status, then recovers', async () => {
    expect((await setFaults(e.urls.box, { failNext: 2, errorStatus: 503 })).status).toBe(200);
    const statuses = [(await boxList()).status, (await boxList()).status, (await boxList()).status];
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('fails every request at errorRate 1 with the API’s own error envelope', async () => {
    await setFaults(e.urls.box, { errorRate: 1 });
    const res = await boxList();
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ status: 'error', message: expect.stringContaining('Injected 500') });
  });

  it('answers a burst of 429s with Retry-After', async () => {
    await setFaults(e.urls.knoxManage, { rateLimitNext: 2, retryAfterSeconds: 7 });
    const token = await knoxManageToken(); // the token endpoint is inside the burst too
    expect(token).toBeUndefined();
    const limited = await postForm(`${e.urls.knoxManage}/emm/oauth/token`, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await knoxManageToken()).toEqual(expect.any(String));
  });

  it('cuts JSON bodies in half so clients meet malformed JSON', async () => {
    await setFaults(e.urls.box, { malformedJsonNext: 1 });
    const broken = await boxList();
    expect(broken.status).toBe(200);
    expect(() => JSON.parse(broken.text)).toThrow();
    expect((await boxList()).json).toMatchObject({ status: 'ok' });
  });

  it('dribbles a slow body out in pieces after the headers', async () => {
    await setFaults(e.urls.box, { slowBodyMs: 200 });
    const response = await fetch(`${e.urls.box}/box/srv/1.1/admin/device/list`, {
      method: 'POST',
      headers: { 'x-fh-auth-user': 'fleetgraph-dev-key' },
    });
    expect(response.status).toBe(200);
    let pieces = 0;
    for await (const chunk of response.body!) if (chunk.length > 0) pieces += 1;
    expect(pieces).toBeGreaterThan(1);
  });

  it('holds answers back by the configured latency (a client timeout fires first)', async () => {
    await setFaults(e.urls.box, { latencyMs: 60_000 });
    const attempt = fetch(`${e.urls.box}/box/srv/1.1/admin/device/list`, {
      method: 'POST',
      headers: { 'x-fh-auth-user': 'fleetgraph-dev-key' },
      signal: AbortSignal.timeout(300),
    });
    await expect(attempt).rejects.toThrow(/abort|timeout/i);
  });

  it('limits faults to the given path prefixes', async () => {
    await setFaults(e.urls.box, { failNext: 5, paths: ['/box/srv/1.1/admin/device/read'] });
    expect((await boxList()).status).toBe(200);
    const read = await postJson(
      `${e.urls.box}/box/srv/1.1/admin/device/read`,
      { cuid: 'x' },
      { 'x-fh-auth-user': 'fleetgraph-dev-key' },
    );
    expect(read.status).toBe(500);
  });

  it('refuses unknown or out-of-range settings, naming each', async () => {
    const res = await setFaults(e.urls.box, { errorRate: 2, colour: 'red', errorStatus: 502 });
    expect(res.status).toBe(400);
    expect(res.json.problems).toHaveLength(3);
    expect((await request('GET', `${e.urls.box}/_emulator/faults`)).json).toMatchObject({
      errorRate: 0,
      errorStatus: 500,
    });
  });

  it('takes faults as start options too', async () => {
    const slow = await startTestEmulators({ fleet: { size: 5 }, box: { faults: { failNext: 1 } } });
    try {
      const res = await postJson(
        `${slow.urls.box}/box/srv/1.1/admin/device/list`,
        {},
        { 'x-fh-auth-user': 'fleetgraph-dev-key' },
      );
      expect(res.status).toBe(500);
    } finally {
      await slow.stop();
    }
  });
});

describe('token expiry', () => {
  it.each([
    [
      'kdms',
      () => kdmsToken(),
      (token: string) => postJson(`${e.urls.kdms}/kdms/v1/devices/getDevices`, {}, bearer(token)),
    ],
    [
      'knox-manage',
      async () => String(await knoxManageToken()),
      (token: string) =>
        postForm(`${e.urls.knoxManage}/emm/oapi/device/selectDeviceList`, { limit: 1 }, bearer(token)),
    ],
  ])('%s: expired tokens get 401 until a new one is fetched', async (name, fetchToken, call) => {
    const url = name === 'kdms' ? e.urls.kdms : e.urls.knoxManage;
    const token = await fetchToken();
    expect((await call(token)).status).toBe(200);
    const expired = await request<{ expired: number }>('POST', `${url}/_emulator/tokens/expire`);
    expect(expired.json.expired).toBeGreaterThan(0);
    const refused = await call(token);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/expired/i);
    expect((await call(await fetchToken())).status).toBe(200);
  });

  it('issues tokens with the configured lifetime', async () => {
    const short = await startTestEmulators({ fleet: { size: 5 }, knoxManage: { tokenTtlSeconds: 42 } });
    try {
      const res = await postForm<KnoxManageTokenResponse>(`${short.urls.knoxManage}/emm/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'fleetgraph-dev@fleetgraph.test',
        client_secret: 'fleetgraph-dev-secret',
      });
      expect(res.json.expires_in).toBe(42);
    } finally {
      await short.stop();
    }
  });
});

describe('Knox Manage rate limit', () => {
  it('answers 429 with Retry-After above the per-minute quota, on /emm/oapi only', async () => {
    const limited = await startTestEmulators({ fleet: { size: 5 }, knoxManage: { requestsPerMinute: 3 } });
    try {
      const token = String(
        (
          await postForm<KnoxManageTokenResponse>(`${limited.urls.knoxManage}/emm/oauth/token`, {
            grant_type: 'client_credentials',
            client_id: 'fleetgraph-dev@fleetgraph.test',
            client_secret: 'fleetgraph-dev-secret',
          })
        ).json.access_token,
      );
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await postForm(
          `${limited.urls.knoxManage}/emm/oapi/device/selectDeviceList`,
          {},
          bearer(token),
        );
        statuses.push(res.status);
        retryAfter ??= res.headers.get('retry-after');
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      // Tokens are not part of the Open API quota.
      const tokenAgain = await postForm(`${limited.urls.knoxManage}/emm/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'fleetgraph-dev@fleetgraph.test',
        client_secret: 'fleetgraph-dev-secret',
      });
      expect(tokenAgain.status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('defaults to the documented 1,800 requests a minute', () => {
    expect(e.knoxManage.rateLimit).toBe(1800);
  });
});

describe('KDMS webhook delivery', () => {
  const upload = async (token: string) =>
    (
      await postJson<KdmsOperationAccepted>(
        `${e.urls.kdms}/kdms/v1/devices/upload`,
        { deviceIds: freshImeis(1), targetServices: ['KAI'] },
        bearer(token),
      )
    ).json.uploadId;

  it('retries a callback that fails, drops callbacks in drop mode, and doubles them in duplicate mode', async () => {
    const token = await kdmsToken();
    const receiver = await startWebhookReceiver();
    const sub = await postJson<{ subscriptionId: string }>(
      `${e.urls.kdms}/kwn/v1/subscriptions`,
      { callbackUrl: receiver.url, events: ['KDMS_DEVICE_UPLOAD'] },
      bearer(token),
    );
    try {
      receiver.answerWith([500]);
      const retried = await upload(token);
      await e.kdms.settlePending();
      const deliveries = () => e.kdms.deliveries.filter((d) => d.uploadId === retried);
      expect(deliveries()).toEqual([
        expect.objectContaining({ outcome: 'delivered', attempts: 2, lastStatus: 200 }),
      ]);
      expect(receiver.received).toHaveLength(2);

      await request('PUT', `${e.urls.kdms}/_emulator/async`, { webhookMode: 'drop' });
      const dropped = await upload(token);
      await request('POST', `${e.urls.kdms}/_emulator/async/settle`);
      expect(receiver.received).toHaveLength(2);
      const log = await request<{ deliveries: Array<{ uploadId: string; outcome: string }> }>(
        'GET',
        `${e.urls.kdms}/_emulator/webhooks`,
      );
      expect(log.json.deliveries.filter((d) => d.uploadId === dropped).map((d) => d.outcome)).toEqual([
        'dropped',
      ]);
      // A dropped callback still settles the upload: the device is there for a poller to find.
      const listed = await postJson<{ totalCount: number }>(
        `${e.urls.kdms}/kdms/v1/devices/getDevices`,
        { uploadId: dropped },
        bearer(token),
      );
      expect(listed.json.totalCount).toBe(1);

      await request('PUT', `${e.urls.kdms}/_emulator/async`, { webhookMode: 'duplicate' });
      await upload(token);
      await e.kdms.settlePending();
      expect(receiver.received).toHaveLength(4);
      const [a, b] = receiver.received
        .slice(2)
        .map((r) => JSON.parse(r.body.toString('utf8')) as { eventId: string });
      expect(a!.eventId).toBe(b!.eventId);
    } finally {
      await request('PUT', `${e.urls.kdms}/_emulator/async`, { webhookMode: 'deliver' });
      await request(
        'DELETE',
        `${e.urls.kdms}/kwn/v1/subscriptions/${sub.json.subscriptionId}`,
        undefined,
        bearer(token),
      );
      await receiver.close();
    }
  });

  it('refuses unknown async settings', async () => {
    const res = await request<{ problems: string[] }>('PUT', `${e.urls.kdms}/_emulator/async`, {
      webhookMode: 'sometimes',
    });
    expect(res.status).toBe(400);
  });
});

describe('OpenAPI documents', () => {
  it.each(['kdms', 'knoxManage', 'box'] as const)(
    '%s documents every route it serves, and nothing else',
    async (name) => {
      const doc = await request<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
        'GET',
        `${e.urls[name]}/openapi.json`,
      );
      expect(doc.json.openapi).toBe('3.0.3');
      const documented = Object.entries(doc.json.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual(e[name].http.apiRoutes().sort());
    },
  );
});

/** A request as a browser would send it: any Host, Origin and Sec-Fetch-Site, which fetch cannot set. */
function raw(
  method: string,
  url: string,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ method, host: hostname, port, path: pathname, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('DNS rebinding and cross-site requests (issue 13, item 9)', () => {
  const port = (url: string) => new URL(url).port;
  const boxCounts = () => e.box.http.requestCounts();

  it.each([
    ['the listening address', (url: string) => `127.0.0.1:${port(url)}`],
    ['localhost', (url: string) => `localhost:${port(url)}`],
    ['localhost with a trailing dot', (url: string) => `LOCALHOST.:${port(url)}`],
    ['an IPv6 literal', (url: string) => `[::1]:${port(url)}`],
  ])('serve a Host naming %s', async (_what, host) => {
    const res = await raw('GET', `${e.urls.box}/_emulator/requests`, { host: host(e.urls.box) });
    expect(res.status).toBe(200);
  });

  it('refuse any other Host (a rebound DNS name) on API and control routes, uncounted', async () => {
    e.resetCounts();
    const host = `attacker.example:${port(e.urls.box)}`;
    const api = await raw(
      'POST',
      `${e.urls.box}/box/srv/1.1/admin/device/list`,
      { host, 'content-type': 'application/json', 'x-fh-auth-user': 'fleetgraph-dev-key' },
      '{}',
    );
    expect(api.status).toBe(403);
    expect(api.text).toContain('attacker.example');
    expect((await raw('GET', `${e.urls.box}/_emulator/requests`, { host })).status).toBe(403);
    expect(boxCounts()).toEqual({});
  });

  it('serve requests without a Host header (HTTP/1.0: no browser sends one)', async () => {
    const { hostname, port: p } = new URL(e.urls.box);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(Number(p), hostname, () =>
        socket.end('GET /_emulator/requests HTTP/1.0\r\n\r\n'),
      );
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  });

  it('serve a Host named in allowedHosts (e.g. a compose service name)', async () => {
    const named = await startTestEmulators({
      fleet: { size: 1, seed: 'named' },
      allowedHosts: ['Emulators'],
    });
    try {
      const host = `emulators:${port(named.urls.box)}`;
      expect((await raw('GET', `${named.urls.box}/_emulator/requests`, { host })).status).toBe(200);
      const other = `other:${port(named.urls.box)}`;
      expect((await raw('GET', `${named.urls.box}/_emulator/requests`, { host: other })).status).toBe(403);
    } finally {
      await named.stop();
    }
  });

  it('refuse cross-site "simple" requests on /_emulator/*, changing nothing', async () => {
    await boxList();
    const before = boxCounts();
    expect(before).not.toEqual({});
    const reset = `${e.urls.box}/_emulator/reset`;
    const settle = `${e.urls.kdms}/_emulator/async/settle`;
    const refused = [
      // A form posted from another site: form content type, Origin and Sec-Fetch-Site.
      await raw(
        'POST',
        reset,
        {
          'content-type': 'application/x-www-form-urlencoded',
          origin: 'https://attacker.example',
          'sec-fetch-site': 'cross-site',
        },
        'a=1',
      ),
      // fetch(url, { mode: 'no-cors', method: 'POST' }): no body, but Origin and Sec-Fetch-Site.
      await raw('POST', reset, { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' }),
      await raw('POST', settle, { origin: 'null' }),
      await raw('POST', settle, { 'sec-fetch-site': 'same-site' }),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    expect(boxCounts()).toEqual(before);
  });

  it('refuse non-JSON control bodies a browser could send, unless the x-emulator-control header vouches for them', async () => {
    const faults = `${e.urls.box}/_emulator/faults`;
    const patch = JSON.stringify({ latencyMs: 7 });
    // An older browser's form post carries no Origin or Sec-Fetch-Site, but a Referer.
    const legacy = { referer: 'http://attacker.example/page' };
    const statuses = [
      (await raw('PUT', faults, { ...legacy, 'content-type': 'text/plain;charset=UTF-8' }, patch)).status,
      (await raw('PUT', faults, { ...legacy, 'content-type': 'multipart/form-data; boundary=x' }, patch))
        .status,
      (await raw('PUT', faults, legacy, patch)).status,
      (await raw('POST', `${e.urls.box}/_emulator/reset`, { ...legacy, 'content-type': 'text/plain' }))
        .status,
    ];
    expect(statuses).toEqual([415, 415, 415, 415]);
    expect(e.box.http.faults.latencyMs).toBe(0);

    expect((await raw('PUT', faults, { ...legacy, 'x-emulator-control': '1' }, patch)).status).toBe(200);
    expect(e.box.http.faults.latencyMs).toBe(7);
    // A script with no browser marker (`curl -d '{…}'` sends a form content type) is served.
    const curl = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/8.5.0' };
    expect((await raw('PUT', faults, curl, JSON.stringify({ latencyMs: 9 }))).status).toBe(200);
    expect(e.box.http.faults.latencyMs).toBe(9);
  });

  it('serve the clients tests and the benchmark use: JSON bodies, empty POSTs, same-origin browsers', async () => {
    const faults = `${e.urls.box}/_emulator/faults`;
    expect((await request('PUT', faults, { latencyMs: 3 })).status).toBe(200);
    expect((await fetch(`${e.urls.box}/_emulator/reset`, { method: 'POST' })).status).toBe(204);
    const sameOrigin = await raw(
      'PUT',
      faults,
      {
        'content-type': 'application/json',
        origin: e.urls.box,
        'sec-fetch-site': 'same-origin',
      },
      JSON.stringify({ latencyMs: 4 }),
    );
    expect(sameOrigin.status).toBe(200);
    expect(e.box.http.faults.latencyMs).toBe(4);
  });
});
