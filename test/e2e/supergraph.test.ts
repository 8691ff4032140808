import { readFile } from 'node:fs/promises';
import {
  SUPERGRAPH_SDL,
  composeSupergraph,
  readSupergraphConfig,
} from '../../examples/supergraph/compose-supergraph.js';
import { REPLICA_HEADER } from '../../examples/supergraph/round-robin-proxy.js';
import { freshImeis } from '../helpers/emulator-targets.js';
import { startTsProcess } from '../helpers/ts-process.js';
import type { TsProcess } from '../helpers/ts-process.js';
import { eventually } from '../helpers/wait.js';

/** supergraph.yaml, and `npm run supergraph` as a developer runs it: gateway, balancer, two replicas, one Redis. */
describe('supergraph.yaml', () => {
  it('composes Fleetgraph with the helpdesk subgraph into exactly the committed supergraph.graphql', async () => {
    const sdl = await composeSupergraph(await readSupergraphConfig());
    expect(sdl).toMatch(
      /FLEETGRAPH @join__graph\(name: "fleetgraph", url: "http:\/\/localhost:4000\/graphql"\)/,
    );
    expect(sdl).toMatch(/HELPDESK @join__graph\(name: "helpdesk", url: "http:\/\/localhost:4010\/graphql"\)/);
    expect(sdl).toMatch(
      /type Device implements Node\s+@join__implements\(graph: FLEETGRAPH, interface: "Node"\)\s+@join__type\(graph: FLEETGRAPH, key: "id"\)/,
    );
    expect(sdl.trim()).toBe((await readFile(SUPERGRAPH_SDL, 'utf8')).trim());
  });
});

describe('npm run supergraph', () => {
  let supergraph: TsProcess;
  const post = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return {
      replica: response.headers.get(REPLICA_HEADER),
      body: (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] },
    };
  };

  beforeAll(async () => {
    supergraph = await startTsProcess('examples/supergraph/run-supergraph.ts', ['--port', '0'], {
      env: { PATH: process.env.PATH ?? '' },
      readyWhen: 'Ctrl+C stops everything',
    });
  }, 90_000);
  afterAll(() => supergraph?.kill());

  it('answers through the gateway a query that crosses both subgraphs, in each direction', async () => {
    const gateway = supergraph.find(/Supergraph \(@apollo\/gateway\) at (http:\/\/\S+)/);
    const tickets = await post(gateway, '{ tickets { id device { imei management { status } } } }');
    expect(tickets.body.errors).toBeUndefined();
    const list = tickets.body.data?.tickets as Array<{
      device: { imei: string; management: { status: string } };
    }>;
    expect(list).toHaveLength(3);
    for (const ticket of list) expect(ticket.device.management.status).toEqual(expect.any(String));
    const device = await post(
      gateway,
      'query ($imei: String) { device(imei: $imei) { id tickets { id } } }',
      {
        imei: list[0]!.device.imei,
      },
    );
    expect(device.body).toEqual({ data: { device: { id: expect.any(String), tickets: [{ id: 'T-1' }] } } });
  });

  it('spreads requests over both replicas; a job created on one is read and settled on the other', async () => {
    const balancer = supergraph.find(/behind (http:\/\/\S+\/graphql)/);
    const created = await post(
      balancer,
      'mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { id } }',
      {
        imeis: freshImeis(3),
      },
    );
    expect(created.body.errors).toBeUndefined();
    const id = (created.body.data?.uploadDevices as { id: string }).id;
    const read = await post(balancer, 'query ($id: ID!) { uploadJob(id: $id) { id status } }', { id });
    expect(read.body.data?.uploadJob).toMatchObject({ id });
    expect(new Set([created.replica, read.replica])).toEqual(new Set(['1', '2']));
    // KDMS calls the balancer back (after 2 s, the emulators' default); whichever replica takes it, both see it.
    await eventually(async () => {
      const { body } = await post(balancer, 'query ($id: ID!) { uploadJob(id: $id) { status settledBy } }', {
        id,
      });
      const job = body.data?.uploadJob as { status: string; settledBy: string };
      return job.status === 'COMPLETED' && job.settledBy === 'WEBHOOK';
    }, 'the upload settling through the webhook');
  });

  it('both replicas together asked each upstream for one token', async () => {
    const counts = async (url: string) =>
      (await (await fetch(`${url}/_emulator/requests`)).json()) as Record<string, number>;
    expect((await counts(supergraph.find(/KDMS (http:\/\/\S+)/)))['POST /ams/v1/oauth2/token']).toBe(1);
    expect((await counts(supergraph.find(/Knox Manage (http:\/\/\S+)/)))['POST /emm/oauth/token']).toBe(1);
  });

  it('stops everything on SIGTERM', async () => {
    const replicas = [...supergraph.output.matchAll(/replica-\d\s+(http:\/\/\S+\/graphql)/g)].map(
      (m) => m[1]!,
    );
    expect(replicas).toHaveLength(2);
    expect(await supergraph.terminate()).toBe(0);
    for (const url of replicas) await expect(fetch(url.replace('/graphql', '/healthz'))).rejects.toThrow();
  });
});
