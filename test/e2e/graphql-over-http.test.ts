import { serverAudits } from 'graphql-http';
import { startTestGraph } from '../helpers/graph.js';
import type { TestGraph } from '../helpers/graph.js';

/** The GraphQL-over-HTTP spec audits of graphql-http: every MUST passes (no `error` result). */
let graph: TestGraph;
beforeAll(async () => {
  graph = await startTestGraph({ emulators: { fleet: { size: 20 } } });
});
afterAll(() => graph.stop());

describe('GraphQL over HTTP', () => {
  const audits = serverAudits({ url: () => graph.url, fetchFn: fetch });
  it.each(audits.map((audit) => [audit.name, audit] as const))('%s', async (_name, audit) => {
    const result = await audit.fn();
    // "warn" and "notice" are SHOULDs and MAYs; Apollo answers 400 (not 200) to invalid documents with application/json.
    expect({
      name: audit.name,
      status: result.status === 'error' ? 'error' : 'not error',
      reason: result.status === 'error' ? result.reason : undefined,
    }).toEqual({
      name: audit.name,
      status: 'not error',
      reason: undefined,
    });
  });
});
