import { serverAudits } from 'graphql-http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { deviceIdOf } from '../../../src/domain/device-ref.js';
import { SCOPES } from '../../../src/domain/scopes.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { signCallerToken } from '../../../src/server/dev-token.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { TEST_JWT_SECRET, productionEnv, tokenWith } from '../../helpers/production-env.js';

/** Caller authentication and scopes, with the server configured as in production. */
let emulators: RunningEmulators;
let graph: TestGraph;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 50, seed: 'auth' } });
  graph = await startTestGraph({ sharedEmulators: emulators, env: productionEnv(emulators) });
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});

const bearer = async (...scopes: string[]) => ({ authorization: `Bearer ${await tokenWith(...scopes)}` });
const device = () => emulators.fleet.devices.find((d) => d.imei && d.box)!;

/** Every operation, with the one scope it needs. */
const OPERATIONS: Array<[name: string, scope: string, query: () => string]> = [
  ['device', SCOPES.read, () => `{ device(imei: "${device().imei}") { id } }`],
  ['devices', SCOPES.read, () => '{ devices(first: 1) { edges { cursor } } }'],
  ['user', SCOPES.read, () => `{ user(userId: "${emulators.fleet.users[0]!.userId}") { userId } }`],
  ['users', SCOPES.read, () => '{ users(first: 1) { totalCount } }'],
  ['node', SCOPES.read, () => `{ node(id: "${deviceIdOf(device())}") { id } }`],
  ['uploadJob', SCOPES.read, () => '{ uploadJob(id: "x") { id } }'],
  ['uploadJobs', SCOPES.read, () => '{ uploadJobs(first: 1) { edges { cursor } } }'],
  ['upstreams', SCOPES.read, () => '{ upstreams { status } }'],
  [
    '_entities',
    SCOPES.read,
    () =>
      `{ _entities(representations: [{ __typename: "Device", imei: "${device().imei}" }]) { ... on Device { model } } }`,
  ],
  [
    'uploadDevices',
    SCOPES.upload,
    () => 'mutation { uploadDevices(input: { imeis: ["490154203237518"] }) { id } }',
  ],
  [
    'deleteDevices',
    SCOPES.delete,
    () => 'mutation { deleteDevices(input: { imeis: ["490154203237518"] }) { id } }',
  ],
  [
    'updateDeviceAccess',
    SCOPES.write,
    () => `mutation { updateDeviceAccess(id: "${deviceIdOf(device())}", input: { name: "x" }) { id } }`,
  ],
  [
    'authenticateUser',
    SCOPES.authenticateUsers,
    () =>
      `mutation { authenticateUser(userId: "${emulators.fleet.users[0]!.userId}", password: "Fleetgraph-dev-1!") { authenticated } }`,
  ],
];
const ALL_SCOPES = Object.values(SCOPES);

describe('caller authentication', () => {
  it('answers UNAUTHENTICATED without a token', async () => {
    const { body } = await graph.post('{ devices(first: 1) { edges { cursor } } }');
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.data?.devices ?? null).toBeNull();
  });

  it.each([
    [
      'a token signed with another secret',
      () => signCallerToken('another-secret-another-secret-another-secret', { scopes: ALL_SCOPES }),
    ],
    ['an expired token', () => signCallerToken(TEST_JWT_SECRET, { scopes: ALL_SCOPES, expiresIn: '-1m' })],
    ['a token that is not a JWT', async () => 'not-a-jwt'],
  ])('refuses %s with HTTP 401 and UNAUTHENTICATED', async (_what, token) => {
    const { status, body } = await graph.post(
      '{ devices(first: 1) { edges { cursor } } }',
      {},
      { authorization: `Bearer ${await token()}` },
    );
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  describe('scope matrix: each operation is allowed with its scope and FORBIDDEN with every other', () => {
    it.each(OPERATIONS)('%s needs %s', async (_name, scope, query) => {
      emulators.resetCounts();
      const others = ALL_SCOPES.filter((s) => s !== scope);
      const forbidden = await graph.post(query(), {}, await bearer(...others));
      expect(forbidden.body.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        requiredScopes: [scope],
      });
      // Refused before any upstream call.
      expect(
        Object.values(emulators.requestCounts()).every((c) =>
          Object.keys(c).every((k) => k.includes('oauth') || k.includes('subscriptions')),
        ),
      ).toBe(true);
      const allowed = await graph.post(query(), {}, await bearer(scope));
      expect(
        allowed.body.errors?.filter(
          (e) => e.extensions?.code === 'FORBIDDEN' || e.extensions?.code === 'UNAUTHENTICATED',
        ) ?? [],
      ).toEqual([]);
    });
  });

  it('authenticates graphql-ws subscriptions from connectionParams', async () => {
    const subscribe = (authorization?: string) =>
      new Promise<string>((resolve) => {
        const client = createClient({
          url: graph.url.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: authorization ? { authorization } : {},
        });
        client.subscribe(
          { query: 'subscription { uploadJobChanged(id: "none") { id } }' },
          {
            // A refused subscription arrives as a result with errors, then completes.
            next: (result) => {
              if (result.errors?.length)
                resolve(result.errors.map((e) => `${String(e.extensions?.code)} ${e.message}`).join('; '));
            },
            error: (error) => {
              void client.dispose();
              // A refused connection ends with a close event (code 4403), a refused subscription with GraphQL errors.
              const close = error as { code?: number; reason?: string };
              resolve(
                error instanceof Error
                  ? error.message
                  : close.code !== undefined
                    ? `${close.code} ${close.reason ?? ''}`
                    : JSON.stringify(error),
              );
            },
            complete: () => {
              void client.dispose();
              resolve('complete');
            },
          },
        );
        // A valid subscription to a job that never changes stays open: treat 300 ms of silence as accepted.
        setTimeout(() => {
          void client.dispose();
          resolve('open');
        }, 300).unref();
      });
    expect(await subscribe()).toMatch(/UNAUTHENTICATED|Authentication required|4403|Forbidden/i);
    expect(await subscribe(`Bearer ${await tokenWith(SCOPES.upload)}`)).toMatch(/FORBIDDEN|needs the scope/);
    // With the read scope the subscription passes auth; the job does not exist, so it then ends NOT_FOUND.
    expect(await subscribe(`Bearer ${await tokenWith(SCOPES.read)}`)).toMatch(/^NOT_FOUND /);
  });

  it('passes the GraphQL-over-HTTP audits with auth on', async () => {
    // The audits ask __type, so this production server has introspection enabled (GRAPHQL_INTROSPECTION=true).
    const audited = await startTestGraph({
      sharedEmulators: emulators,
      env: productionEnv(emulators, { GRAPHQL_INTROSPECTION: 'true' }),
    });
    const token = await tokenWith(...ALL_SCOPES);
    const authedFetch: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const failures: string[] = [];
    try {
      for (const audit of serverAudits({ url: audited.url, fetchFn: authedFetch })) {
        const result = await audit.fn();
        if (result.status === 'error') failures.push(`${audit.name}: ${result.reason}`);
      }
    } finally {
      await audited.stop();
    }
    expect(failures).toEqual([]);
  });
});
