import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { jest } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { SCOPES } from '../../../src/domain/scopes.js';
import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { createLogger } from '../../../src/observability/logger.js';
import { formatGraphQLError } from '../../../src/schema/errors.js';
import { UpstreamHttp } from '../../../src/upstreams/upstream-http.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { TEST_JWT_SECRET, productionEnv, tokenWith } from '../../helpers/production-env.js';

/**
 * Regression tests for issue 12 ("reliability and security under attack"), server side, each named by
 * its item. Production mode, caller auth on, the emulators as upstreams, real HTTP and WebSockets.
 */
let emulators: RunningEmulators;
let graph: TestGraph;
let token: string;
const logLines: string[] = [];
const PASSWORD = 'S3cret-Passw0rd-LEAK!';

beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 900, seed: 'under-attack' } });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: productionEnv(emulators, { LOG_LEVEL: 'trace' }),
    logger: createLogger({
      level: 'trace',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
  });
  token = await tokenWith(...Object.values(SCOPES));
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const base = () => graph.url.replace('/graphql', '');

/** A raw request, so headers of any size reach the server as sent. */
function rawPost(
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const url = new URL(base() + path);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('item 2: a body that is not JSON', () => {
  it('gets a JSON 400 with a code, and no log line or stderr output holds the password', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
    const consoleSpy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      written.push(args.map(String).join(' '));
    });
    try {
      // A trailing comma after `variables`: the body is not JSON.
      const body = `{"query":"mutation ($u: ID!, $p: String!) { authenticateUser(userId: $u, password: $p) { authenticated } }","variables":{"u":"user-1","p":"${PASSWORD}"},}`;
      const answer = await rawPost('/graphql', { 'content-type': 'application/json', ...auth() }, body);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({
        errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
      });
    } finally {
      spy.mockRestore();
      consoleSpy.mockRestore();
    }
    expect([...logLines, ...written].join('\n')).not.toContain(PASSWORD);
    // Every log line is JSON.
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(logLines.some((l) => l.includes('"errorType":"entity.parse.failed"'))).toBe(true);
  });
});

describe('item 5: big headers', () => {
  it('are refused with 431 before any work on every route but the webhook', async () => {
    const before = logLines.length;
    const junk = { authorization: `Bearer ${'x'.repeat(100_000)}`, 'content-type': 'application/json' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => rawPost('/graphql', junk, '{"query":"{ __typename }"}')),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(431));
    expect(JSON.parse(answers[0]!.body).errors[0].extensions.code).toBe('REQUEST_HEADER_FIELDS_TOO_LARGE');
    // Refused before Express: no request reached the request log (or auth).
    expect(logLines.slice(before).filter((l) => l.includes('"msg":"request"'))).toEqual([]);
    // The webhook route keeps its large limit (a signed callback may sit in a header): it judges the signature.
    const webhook = await rawPost(
      '/webhooks/knox',
      { 'x-wsm-signature': 'x'.repeat(100_000), 'content-type': 'application/json' },
      '{}',
    );
    expect(webhook.status).toBe(401);
  });

  it('refuses a WebSocket upgrade with big headers', async () => {
    const socket = new WebSocket(graph.url.replace('http', 'ws'), 'graphql-transport-ws', {
      headers: { 'x-junk': 'x'.repeat(100_000) },
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.on('open', () => resolve('open'));
      socket.on('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      socket.on('error', (error) => resolve(`error ${error.message}`));
    });
    socket.terminate();
    expect(outcome).not.toBe('open');
  });
});

describe('item 5: webhook bodies', () => {
  it('are refused unsigned before being read, and bounded (413) before the signature is checked', async () => {
    const unsigned = await rawPost(
      '/webhooks/knox',
      { 'content-type': 'application/json' },
      '{"eventId":"x"}',
    );
    expect(unsigned.status).toBe(401);
    const huge = await rawPost(
      '/webhooks/knox',
      { 'content-type': 'application/json', 'x-wsm-signature': 'a.b.c' },
      Buffer.alloc(5 * 1024 * 1024, 'a').toString(),
    );
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('item 6: metric labels', () => {
  it('count each error once with its own code, and keep at most 100 operation names (then "other")', async () => {
    // An UNAUTHENTICATED request is counted once, as UNAUTHENTICATED (not again as INTERNAL_SERVER_ERROR).
    await fetch(graph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query CountedOnce { devices(first: 1) { edges { cursor } } }' }),
    });
    const first = await (await fetch(`${base()}/metrics`)).text();
    const counted = [
      ...first.matchAll(/fleetgraph_graphql_errors_total\{operation="CountedOnce",code="([^"]+)"\} (\d+)/g),
    ].map((m) => [m[1], Number(m[2])]);
    expect(counted).toEqual([['UNAUTHENTICATED', 1]]);
    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        fetch(graph.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `query Probe${i}_${'x'.repeat(40)} { __typename }` }),
        }),
      ),
    );
    const text = await (await fetch(`${base()}/metrics`)).text();
    const labels = new Set(
      [...text.matchAll(/fleetgraph_graphql_requests_total\{operation="([^"]+)"/g)].map((m) => m[1]),
    );
    expect(labels.size).toBeLessThanOrEqual(102);
    expect(labels.has('other')).toBe(true);
  });
});

describe('item 7: _entities', () => {
  const entities = (count: number, fields: string) => ({
    query: `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { ${fields} } } }`,
    variables: {
      r: emulators.fleet.devices
        .filter((d) => d.imei)
        .slice(0, count)
        .map((d) => ({ __typename: 'Device', imei: d.imei })),
    },
  });

  it('is costed by its representations: 783 with apps and users is refused before any Box call', async () => {
    emulators.resetCounts();
    const { query, variables } = entities(783, 'imei apps { name } users { userId }');
    const { status, body } = await graph.post(query, variables, auth());
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'cost' });
    expect(emulators.requestCounts().box).toEqual({});
  });

  it('carries at most 1,000 representations', async () => {
    const { query, variables } = entities(1001, 'imei');
    variables.r = [...variables.r, ...variables.r].slice(0, 1001);
    const { status, body } = await graph.post(query, variables, auth());
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions).toMatchObject({ limit: 'representations', max: 1000, actual: 1001 });
  });

  it('still answers a router-sized batch', async () => {
    const { query, variables } = entities(
      100,
      'imei registration { deviceId } management { status } access { name }',
    );
    const { status, body } = await graph.post(query, variables, auth());
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });
});

describe('item 8 (graphql-ws part): errors over WebSockets', () => {
  it('carry the same extensions as over HTTP', async () => {
    const readOnlyless = await tokenWith(SCOPES.upload);
    const client = createClient({
      url: graph.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${readOnlyless}` },
      retryAttempts: 0,
    });
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { uploadJobChanged(id: "no-such-job") { id status } }' },
          {
            next: (result) => resolve(result.errors),
            error: (error) => resolve(error),
            complete: () => resolve(null),
          },
        );
      });
      expect(errors).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }),
      ]);
      const invalid = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { noSuchField }' },
          {
            next: (result) => resolve(result.errors),
            error: (error) => resolve(error),
            complete: () => resolve(null),
          },
        );
      });
      expect(invalid).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
        }),
      ]);
    } finally {
      await client.dispose();
    }
  });
});

describe('item 10: internal messages', () => {
  it('never reach callers in production (Apollo labels them INTERNAL_SERVER_ERROR but keeps the text)', () => {
    const bug = new GraphQLError('device.targetServices is not iterable', {
      originalError: new TypeError('device.targetServices is not iterable'),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(formatGraphQLError(bug.toJSON(), bug, { development: false })).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(formatGraphQLError(bug.toJSON(), bug, { development: true }).message).toBe(
      'device.targetServices is not iterable',
    );
  });
});

describe('low items: caller tokens', () => {
  const sign = (claims: { exp?: number; iat?: number }) => {
    let jwt = new SignJWT({ scope: SCOPES.read }).setProtectedHeader({ alg: 'HS256' }).setSubject('attacker');
    if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
    if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
    return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
  };
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['without exp', () => sign({})],
    ['issued a year ahead', () => sign({ iat: now() + 365 * 86_400, exp: now() + 366 * 86_400 })],
  ])('refuses a token %s with 401', async (_what, mint) => {
    const { status, body } = await graph.post(
      '{ upstreams { upstream } }',
      {},
      { authorization: `Bearer ${await mint()}` },
    );
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('low items: upstream calls', () => {
  /** A server that accepts requests and never answers; counts them. */
  async function silentServer(): Promise<{
    url: string;
    received: () => number;
    close: () => Promise<void>;
  }> {
    let received = 0;
    const server = createServer(() => {
      received += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      received: () => received,
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  it('a slow upstream costs one deadline, not one timeout per attempt', async () => {
    const slow = await silentServer();
    try {
      // Timeout 300 ms a try, 5 retries allowed, but the whole call must end by 700 ms: two attempts fit.
      const http = new UpstreamHttp({
        upstream: 'BOX',
        baseUrl: slow.url,
        resilience: { timeoutMs: 300, deadlineMs: 700, retries: 5, retryBaseDelayMs: 10 },
      });
      const failure = await http
        .send({ method: 'POST', path: '/x', json: {}, idempotent: true })
        .catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstream: 'BOX' });
      expect(slow.received()).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('a half-open breaker lets concurrent calls wait for its probe instead of failing them', async () => {
    let failing = true;
    const server = createServer((_req, res) => {
      res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
      // The probe takes a moment, so the other calls arrive while it is in flight.
      setTimeout(() => res.end('{}'), failing ? 0 : 50);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = new UpstreamHttp({
      upstream: 'KDMS',
      baseUrl: url,
      resilience: {
        retries: 0,
        breaker: {
          errorThresholdPercentage: 50,
          volumeThreshold: 2,
          resetTimeoutMs: 100,
          rollingWindowMs: 10_000,
        },
      },
    });
    try {
      // Failures until the breaker opens (the last ones are refused by it).
      for (let i = 0; i < 4; i++)
        await http.send({ method: 'GET', path: '/', idempotent: true }).catch(() => null);
      expect(http.breakerState).toBe('open');
      failing = false;
      while (http.breakerState !== 'half-open') await new Promise((resolve) => setTimeout(resolve, 20));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 64 }, () => http.send({ method: 'GET', path: '/', idempotent: true })),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      expect(http.breakerState).toBe('closed');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('low item: /readyz', () => {
  it('answers from the last probe while a slow upstream holds up the next one', async () => {
    // Every /readyz finds its last probe stale (READINESS_PROBE_MS=0) and starts another in the background.
    const probed = await startTestGraph({
      sharedEmulators: emulators,
      env: productionEnv(emulators, { READINESS_PROBE_MS: '0' }),
    });
    const readyz = async () => {
      const response = await fetch(probed.url.replace('/graphql', '/readyz'));
      return { status: response.status, body: (await response.json()) as { probedAt?: string } };
    };
    try {
      const first = await readyz();
      expect(first.status).toBe(200);
      emulators.box.http.setFaults({ latencyMs: 3000, paths: ['/box'] });
      // The next probe waits 3 s for Box; the answer does not: it is the first probe's.
      const second = await readyz();
      expect(second).toEqual({
        status: 200,
        body: expect.objectContaining({ probedAt: first.body.probedAt }),
      });
    } finally {
      emulators.box.http.clearFaults();
      await probed.stop();
    }
  });
});

describe('logs, after everything above', () => {
  it('hold no secret or password this server holds or saw, at trace level, and every line is JSON', async () => {
    // Upstream traffic too: tokens fetched with client secrets, Box calls with its API key.
    const page = await graph.post(
      '{ devices(first: 5) { edges { node { registration { deviceId } management { status } access { name } apps { name } } } } }',
      {},
      auth(),
    );
    expect(page.body.errors).toBeUndefined();
    const everything = logLines.join('\n');
    const secrets = {
      password: PASSWORD,
      'caller JWT secret': TEST_JWT_SECRET,
      'caller token': token,
      'KDMS client secret': DEV_CREDENTIALS.kdms.clientSecret,
      'Knox Manage client secret': DEV_CREDENTIALS.knoxManage.clientSecret,
      'Box API key': DEV_CREDENTIALS.box.apiKey,
    };
    expect(Object.entries(secrets).filter(([, value]) => everything.includes(value))).toEqual([]);
    expect(logLines.length).toBeGreaterThan(100);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
