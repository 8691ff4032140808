import { readFile } from 'node:fs/promises';
import { ApolloGateway } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import type { SeededFleet } from '../../src/emulators/fleet/seeded-fleet.js';
import { startTestGraph } from '../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../helpers/graph.js';
import { HELPDESK_SDL, startHelpdeskSubgraph } from '../../examples/helpdesk/helpdesk-subgraph.js';
import { forApolloGateway } from '../../examples/supergraph/compose-supergraph.js';

/** Fleetgraph as a federation subgraph: its SDL, `_entities` batching, and a supergraph with a second subgraph. */
let graph: TestGraph;
let fleet: SeededFleet;
beforeAll(async () => {
  graph = await startTestGraph();
  fleet = graph.fleetgraph.emulators!.fleet;
});
afterAll(() => graph.stop());

describe('Fleetgraph as a subgraph', () => {
  it('serves its SDL with the entity keys at _service { sdl }, the same as schema/schema.graphql', async () => {
    const { body } = await graph.post('{ _service { sdl } }');
    const sdl = (body.data?._service as { sdl: string }).sdl;
    expect(sdl).toMatch(
      /type Device implements Node\s+@key\(fields: "id"\)\s+@key\(fields: "imei"\)\s+@key\(fields: "serialNumber"\)/,
    );
    expect(sdl).toMatch(/type User implements Node\s+@key\(fields: "userId"\)/);
    expect(sdl).toMatch(/type App\s+@key\(fields: "id", resolvable: false\)/);
    expect(sdl).toMatch(/type UploadJob implements Node\s+@key\(fields: "id"\)/);
    expect(sdl.trim()).toBe((await readFile('schema/schema.graphql', 'utf8')).trim());
  });

  it('resolves 100 Device representations with one call per API', async () => {
    const devices = fleet.devices.filter((d) => d.imei).slice(0, 100);
    graph.resetCalls();
    const { body } = await graph.post(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on Device { imei registration { deviceId } management { status } access { name } } } }`,
      { representations: devices.map((d) => ({ __typename: 'Device', imei: d.imei })) },
    );
    expect(body.errors).toBeUndefined();
    const entities = body.data?._entities as Array<{
      imei: string;
      registration: unknown;
      management: unknown;
      access: unknown;
    }>;
    expect(entities.map((e) => e.imei)).toEqual(devices.map((d) => d.imei));
    expect(entities.map((e) => [e.registration !== null, e.management !== null, e.access !== null])).toEqual(
      devices.map((d) => [Boolean(d.kdms), Boolean(d.knoxManage), Boolean(d.box)]),
    );
    // Devices a keyed API lacks are looked up again by serial number in the same KDMS batch; Knox Manage and Box answer from one list read.
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 1 });
  });

  it('resolves User and UploadJob references', async () => {
    const user = fleet.users[0]!;
    const { body } = await graph.post(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { userId name } ... on UploadJob { id } } }`,
      {
        r: [
          { __typename: 'User', userId: user.userId },
          { __typename: 'UploadJob', id: 'unknown' },
        ],
      },
    );
    expect(body.data?._entities).toEqual([{ userId: user.userId, name: user.userName }, null]);
  });
});

describe('a supergraph of Fleetgraph and a helpdesk subgraph behind @apollo/gateway', () => {
  it('composes and answers a query that crosses both subgraphs in each direction', async () => {
    const withTicket = fleet.devices.filter((d) => d.imei && d.kdms && d.knoxManage);
    const tickets = [
      { id: 't1', title: 'Screen cracked', imei: withTicket[0]!.imei! },
      { id: 't2', title: 'Battery drains', imei: withTicket[1]!.imei! },
    ];
    const helpdesk = await startHelpdeskSubgraph(tickets);
    const fleetgraphSdl = (await graph.post('{ _service { sdl } }')).body.data?._service as { sdl: string };
    const composed = composeServices([
      { name: 'fleetgraph', typeDefs: parse(fleetgraphSdl.sdl), url: graph.url },
      { name: 'helpdesk', typeDefs: parse(HELPDESK_SDL), url: helpdesk.url },
    ]);
    expect(composed.errors ?? []).toEqual([]);
    const gateway = new ApolloServer({
      gateway: new ApolloGateway({ supergraphSdl: forApolloGateway(composed.supergraphSdl!) }),
    });
    const { url } = await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } });
    try {
      const query = async (q: string): Promise<GraphQLBody> => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: q }),
        });
        return (await res.json()) as GraphQLBody;
      };
      const fromHelpdesk = await query(
        '{ tickets { title device { imei model management { status } registration { deviceId } } } }',
      );
      expect(fromHelpdesk.errors).toBeUndefined();
      expect(fromHelpdesk.data?.tickets).toEqual(
        tickets.map((t, i) => ({
          title: t.title,
          device: {
            imei: t.imei,
            model: withTicket[i]!.model,
            management: { status: expect.any(String) },
            registration: { deviceId: withTicket[i]!.kdms!.deviceId },
          },
        })),
      );
      const fromFleetgraph = await query(
        `{ device(imei: "${tickets[0]!.imei}") { serialNumber tickets { title } } }`,
      );
      expect(fromFleetgraph.data?.device).toEqual({
        serialNumber: withTicket[0]!.serialNumber,
        tickets: [{ title: 'Screen cracked' }],
      });
    } finally {
      await gateway.stop();
      await helpdesk.stop();
    }
  });
});
