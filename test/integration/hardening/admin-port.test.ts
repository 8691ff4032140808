import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../src/observability/logger.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/**
 * ADMIN_PORT: /healthz, /readyz and /metrics on a port of their own, so the public port serves GraphQL
 * and webhooks only; process metrics named once; request log lines name the operation.
 */
let graph: TestGraph;
let admin: string;
const logLines: string[] = [];

beforeAll(async () => {
  graph = await startTestGraph({
    config: { adminPort: 0 },
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
  });
  const address = graph.fleetgraph.server.adminServer!.address() as AddressInfo;
  admin = `http://127.0.0.1:${address.port}`;
});

afterAll(() => graph?.stop());

const publicBase = () => graph.url.replace('/graphql', '');

it('serves health, readiness and metrics on the admin port only', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    expect((await fetch(`${admin}${path}`)).status).toBe(200);
    expect((await fetch(`${publicBase()}${path}`)).status).toBe(404);
  }
  expect((await fetch(`${admin}/graphql`)).status).toBe(404);
  const { status, body } = await graph.post('query Probe { upstreams { upstream status } }');
  expect(status).toBe(200);
  expect(body.errors).toBeUndefined();
});

it('names process metrics once', async () => {
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  expect(metrics).toMatch(/^fleetgraph_process_cpu_user_seconds_total /m);
  expect(metrics).toMatch(/^fleetgraph_nodejs_eventloop_lag_seconds /m);
  expect(metrics).not.toMatch(/fleetgraph_process_process_/);
});

it('logs each request with its operation name, as JSON', async () => {
  logLines.length = 0;
  await graph.post('query FleetPage { devices(first: 2) { edges { node { id } } } }');
  await graph.post('{ upstreams { upstream } }', undefined, {});
  const requests = logLines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request');
  expect(requests.find((l) => l.operation === 'FleetPage')).toMatchObject({ path: '/graphql', status: 200 });
  expect(requests.filter((l) => l.path === '/graphql')).toHaveLength(2);
});
