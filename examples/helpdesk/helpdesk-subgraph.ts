import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

/**
 * A small second subgraph, as another team would write it: helpdesk tickets keyed to devices by IMEI.
 * Its SDL is examples/helpdesk/helpdesk.graphql, the file supergraph.yaml composes.
 */
export const HELPDESK_SDL_FILE = new URL('./helpdesk.graphql', import.meta.url);
export const HELPDESK_SDL = readFileSync(HELPDESK_SDL_FILE, 'utf8');

export interface Ticket {
  id: string;
  title: string;
  imei: string;
}

export interface RunningHelpdesk {
  url: string;
  stop(): Promise<void>;
}

export async function startHelpdeskSubgraph(tickets: Ticket[], port = 0): Promise<RunningHelpdesk> {
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
  const server = new ApolloServer({
    schema,
    // Whoever started it stops it (a test, or `npm run supergraph` on Ctrl+C).
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}
