import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { signCallerToken } from '../../src/server/dev-token.js';
import { freshImeis, startTestEmulators } from '../helpers/emulator-targets.js';
import { startTestGraph } from '../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../helpers/graph.js';
import { TEST_JWT_SECRET } from '../helpers/production-env.js';

/**
 * Fleetgraph's federation contract enforced by a router: the subgraph's SDL carries `@requiresScopes`,
 * `@authenticated`, `@cost` and `@listSize` (Federation 2.9); composed into a supergraph and served by
 * Hive Gateway with demand control and directive auth on, the gateway itself refuses a query over the
 * cost limit and a caller without the scope (Fleetgraph never sees either), and forwards the
 * `uploadJobChanged` subscription to Fleetgraph over graphql-ws. Fleetgraph runs trusted documents only
 * (`PERSISTED_DOCUMENTS=require`), as in production behind a router: the gateway proves itself with
 * ROUTER_SECRET, so its query plans run while the same queries sent past it are refused.
 */
const MAX_COST = 5_000;
const ROUTER_SECRET = 'hive-gateway-test-router-secret-0123456789';

/**
 * Hive Gateway's declarations redeclare DOM globals (`BodyInit`, `Crypto`) for the whole program, which
 * breaks the types of unrelated files, so the module is loaded by a name TypeScript does not resolve
 * and used through the members this test needs.
 */
interface GatewayRuntime {
  (request: IncomingMessage, response: ServerResponse): void;
  dispose(): Promise<void>;
}
interface HiveGatewayModule {
  createGatewayRuntime(config: Record<string, unknown>): GatewayRuntime;
  createInlineSigningKeyProvider(secret: string): unknown;
  useJWT(options: Record<string, unknown>): unknown;
}
const HIVE_GATEWAY: string = '@graphql-hive/gateway';

let emulators: RunningEmulators;
let graph: TestGraph;
let gateway: GatewayRuntime;
let gatewayServer: Server;
let gatewayUrl: string;
/** GraphQL requests Fleetgraph received (the gateway's fetches), by operation text. */
const fleetgraphSaw: string[] = [];

const token = (scopes: string[]) =>
  signCallerToken(TEST_JWT_SECRET, { scopes, subject: 'gateway-test' }).then((t) => `Bearer ${t}`);
const asRouter = async (scopes: string[]) => ({
  authorization: await token(scopes),
  'router-authorization': ROUTER_SECRET,
});

async function viaGateway(
  query: string,
  authorization: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: GraphQLBody }> {
  const res = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLBody };
}

beforeAll(async () => {
  emulators = await startTestEmulators({
    fleet: { size: 200, seed: 'hive-gateway' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: { AUTH_JWT_SECRET: TEST_JWT_SECRET, PERSISTED_DOCUMENTS: 'require', ROUTER_SECRET },
  });
  const sdl = (await graph.post('{ _service { sdl } }', {}, await asRouter([]))).body.data?._service as {
    sdl: string;
  };
  const composed = composeServices([{ name: 'fleetgraph', typeDefs: parse(sdl.sdl), url: graph.url }]);
  expect(composed.errors ?? []).toEqual([]);
  const { createGatewayRuntime, createInlineSigningKeyProvider, useJWT } = (await import(
    HIVE_GATEWAY
  )) as HiveGatewayModule;
  gateway = createGatewayRuntime({
    supergraph: composed.supergraphSdl!,
    logging: 'error',
    demandControl: { maxCost: MAX_COST, includeExtensionMetadata: true },
    plugins: () => [
      useJWT({
        signingKeyProviders: [createInlineSigningKeyProvider(TEST_JWT_SECRET)],
        tokenVerification: { algorithms: ['HS256'] },
        reject: { missingToken: false, invalidToken: true },
        forward: { payload: false },
      }),
      {
        onFetch({ options }: { options: { body?: unknown } }) {
          if (typeof options.body === 'string') fleetgraphSaw.push(options.body);
        },
      },
    ],
    genericAuth: {
      mode: 'protect-granular',
      // The default scope extraction splits the JWT's `scope` claim on spaces, as Fleetgraph does.
      resolveUserFn: (context: { jwt?: { payload?: Record<string, unknown> } }) => context.jwt?.payload,
      rejectUnauthenticated: true,
    },
    // Fleetgraph authorizes every field again itself: the caller's token goes on to it.
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }: { request: Request }) => ({
        authorization: request.headers.get('authorization') ?? '',
        'router-authorization': ROUTER_SECRET,
      }),
    },
    transportEntries: {
      fleetgraph: {
        options: {
          subscriptions: {
            kind: 'ws',
            location: '/graphql',
            options: {
              connectionParams: {
                authorization: '{context.headers.authorization}',
                'router-authorization': ROUTER_SECRET,
              },
            },
          },
        },
      },
    },
  });
  gatewayServer = createServer(gateway);
  await new Promise<void>((resolve) => gatewayServer.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}/graphql`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => gatewayServer?.close(resolve));
  await gateway?.dispose();
  await graph?.stop();
  await emulators?.stop();
});

beforeEach(() => {
  fleetgraphSaw.length = 0;
});

describe('the subgraph SDL', () => {
  it('links Federation 2.9 and carries scopes, cost and list sizes from the code', async () => {
    const { body } = await graph.post('{ _service { sdl } }', {}, await asRouter([]));
    const sdl = (body.data?._service as { sdl: string }).sdl;
    expect(sdl).toContain('https://specs.apollo.dev/federation/v2.9');
    expect(sdl).toMatch(/\): DeviceConnection!? @requiresScopes\(scopes: \[\["devices:read"\]\]\)/);
    expect(sdl).toMatch(/\): DeviceConnection!? [^\n]*@listSize\(slicingArguments: \["first"\]/);
    expect(sdl).toMatch(/apps: \[App!\][^\n]*@cost\(weight: 2\)/);
  });
});

describe('Hive Gateway in front of Fleetgraph', () => {
  it('answers a fleet page within the cost limit, through Fleetgraph', async () => {
    const { status, body } = await viaGateway(
      'query Page { devices(first: 3) { edges { node { imei management { status } } } } }',
      await token(['devices:read']),
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect((body.data?.devices as { edges: unknown[] }).edges).toHaveLength(3);
    expect(fleetgraphSaw).toHaveLength(1);
    // The gateway's plan is not in Fleetgraph's manifest: sent past the gateway, the caller's own query
    // is refused, though its token is the same.
    const direct = await graph.post(
      JSON.parse(fleetgraphSaw[0]!).query as string,
      {},
      {
        authorization: await token(['devices:read']),
      },
    );
    expect(direct.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('refuses a query over the cost limit itself: Fleetgraph is never asked', async () => {
    const { body } = await viaGateway(
      'query Expensive { devices(first: 200) { edges { node { imei apps { name } users { userId } } } } }',
      await token(['devices:read']),
    );
    // devices is nullable: the refused field is null, the rest of the answer (nothing else) stands.
    expect(body.data?.devices ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      cost: { max: MAX_COST },
    });
    expect(fleetgraphSaw).toEqual([]);
  });

  it('refuses a caller without the scope itself: Fleetgraph is never asked', async () => {
    const { body } = await viaGateway(
      'query Page { devices(first: 3) { edges { node { imei } } } }',
      await token(['users:authenticate']),
    );
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHORIZED_FIELD_OR_TYPE' });
    expect(fleetgraphSaw).toEqual([]);
  });

  it('carries uploadJobChanged from Fleetgraph to a client, over graphql-ws behind the gateway', async () => {
    const writer = await token(['devices:read', 'devices:upload']);
    const upload = await viaGateway(
      'mutation Upload($input: DeviceBatchInput!) { uploadDevices(input: $input) { id status } }',
      writer,
      { input: { imeis: freshImeis(1) } },
    );
    expect(upload.body.errors).toBeUndefined();
    const jobId = (upload.body.data?.uploadDevices as { id: string }).id;

    // The gateway serves subscriptions to its clients as server-sent events.
    const events = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: writer },
      body: JSON.stringify({
        query: 'subscription Job($id: ID!) { uploadJobChanged(id: $id) { id status } }',
        variables: { id: jobId },
      }),
    });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    const statuses: string[] = [];
    let buffered = '';
    let settled = false;
    while (!statuses.includes('COMPLETED')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      for (const match of buffered.matchAll(/"status":"([A-Z_]+)"/g)) statuses.push(match[1]!);
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      if (statuses.includes('PENDING') && !settled) {
        settled = true;
        await emulators.kdms.settlePending();
      }
    }
    await reader.cancel();
    expect(statuses[0]).toBe('PENDING');
    expect(statuses).toContain('COMPLETED');
  });
});
