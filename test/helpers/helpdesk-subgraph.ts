import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

/**
 * A small second subgraph, as another team would write it: helpdesk tickets keyed to devices by IMEI.
 * It adds `Device.tickets` and points each ticket at a Fleetgraph device.
 */
export const HELPDESK_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Device @key(fields: "imei") {
    imei: String
    tickets: [Ticket!]!
  }

  type Ticket {
    id: ID!
    title: String!
    device: Device!
  }

  type Query {
    tickets: [Ticket!]!
  }
`;

export interface Ticket {
  id: string;
  title: string;
  imei: string;
}

export async function startHelpdeskSubgraph(
  tickets: Ticket[],
): Promise<{ url: string; stop(): Promise<void> }> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(HELPDESK_SDL),
    resolvers: {
      Query: { tickets: () => tickets },
      Ticket: { device: (ticket: Ticket) => ({ imei: ticket.imei }) },
      Device: {
        __resolveReference: (device: { imei: string }) => device,
        tickets: (device: { imei: string }) => tickets.filter((t) => t.imei === device.imei),
      },
    },
  });
  const server = new ApolloServer({ schema });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}
