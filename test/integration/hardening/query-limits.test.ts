import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { SCOPES } from '../../../src/domain/scopes.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { productionEnv, tokenWith } from '../../helpers/production-env.js';

/**
 * graphql-cop's probes and the other limits, against a server configured as in production: each is
 * refused with a clear message, and none reaches an upstream.
 */
let emulators: RunningEmulators;
let graph: TestGraph;
let auth: Record<string, string>;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 30, seed: 'limits' } });
  graph = await startTestGraph({ sharedEmulators: emulators, env: productionEnv(emulators) });
  auth = { authorization: `Bearer ${await tokenWith(...Object.values(SCOPES))}` };
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});
beforeEach(() => emulators.resetCounts());

const upstreamApiCalls = () =>
  Object.values(emulators.requestCounts())
    .flatMap((c) => Object.entries(c))
    .filter(([k]) => !k.includes('oauth'))
    .reduce((n, [, v]) => n + v, 0);

async function refused(query: string, limit: string, message: RegExp): Promise<void> {
  const { status, body } = await graph.post(query, {}, auth);
  expect(status).toBe(400);
  expect(body.errors).toHaveLength(1);
  expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit } });
  expect(body.errors?.[0]?.message).toMatch(message);
  expect(body.data).toBeUndefined();
  expect(upstreamApiCalls()).toBe(0);
}

describe('limits before execution (production configuration)', () => {
  it('refuses 101 aliases', async () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: upstreams { status }`).join(' ');
    await refused(`{ ${aliases} }`, 'aliases', /Too many aliases: 101 \(at most 15\)/);
  });

  it('refuses 500 duplicated fields', async () => {
    await refused(`{ ${'__typename '.repeat(500)} }`, 'fieldRepeats', /"__typename" is selected 4 times/);
  });

  it('refuses 10 directives (graphql-cop directive overloading) with one error, not ten', async () => {
    await refused(
      `{ __typename ${'@aa'.repeat(10)} }`,
      'directives',
      /Too many directives: 10 \(at most 5\)/,
    );
  });

  it('refuses a deep query', async () => {
    // user → devices → owner → devices → …: each round adds five levels.
    let inner = 'name';
    for (let i = 0; i < 3; i++)
      inner = `devices(first: 1) { edges { node { management { owner { ${inner} } } } } }`;
    await refused(
      `{ users(first: 1) { edges { node { ${inner} } } } }`,
      'depth',
      /too deep: depth 19 \(at most 15\)/,
    );
  });

  it('refuses an expensive query, weighting lists by first', async () => {
    await refused(
      '{ users(first: 100) { edges { node { devices(first: 100) { edges { node { id apps { name } } } } } } } }',
      'cost',
      /too expensive: estimated cost \d+ \(at most 25000\)/,
    );
  });

  it('refuses a document of more than 2,000 tokens', async () => {
    const imeis = Array.from({ length: 2000 }, () => '"490154203237518"').join(', ');
    await refused(
      `mutation { uploadDevices(input: { imeis: [${imeis}] }) { id } }`,
      'tokens',
      /more than 2000 tokens/,
    );
  });

  it('refuses circular introspection (introspection is off in production)', async () => {
    const { status, body } = await graph.post(
      '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
      {},
      auth,
    );
    expect(status).toBe(400);
    // graphql-js's introspection depth rule or Apollo's introspection switch, whichever speaks first.
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    expect(body.data).toBeUndefined();
  });

  it('refuses a batch of 10 operations', async () => {
    const response = await fetch(graph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(Array.from({ length: 10 }, () => ({ query: '{ upstreams { status } }' }))),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/batch/i);
    expect(upstreamApiCalls()).toBe(0);
  });

  it('refuses a mutation over GET', async () => {
    const url = `${graph.url}?query=${encodeURIComponent('mutation { uploadDevices(input: { imeis: ["490154203237518"] }) { id } }')}`;
    const response = await fetch(url, { headers: { ...auth, 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
    expect(upstreamApiCalls()).toBe(0);
  });

  it('refuses a GET without a CSRF-safe header', async () => {
    const response = await fetch(`${graph.url}?query=${encodeURIComponent('{ upstreams { status } }')}`, {
      headers: auth,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/CSRF/);
  });

  it('hides field suggestions ("Did you mean")', async () => {
    const { body } = await graph.post('{ devicez(first: 1) { edges { cursor } } }', {}, auth);
    expect(body.errors?.[0]?.message).toMatch(/Cannot query field "devicez"/);
    expect(JSON.stringify(body)).not.toMatch(/Did you mean/);
  });

  it('refuses a request body above MAX_REQUEST_BYTES', async () => {
    const response = await fetch(graph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(1_100_000) } }),
    });
    expect(response.status).toBe(413);
  });

  it('serves no landing page and no stack traces', async () => {
    const landing = await fetch(graph.url, { headers: { accept: 'text/html' } });
    expect(await landing.text()).not.toMatch(/sandbox/i);
    const { body } = await graph.post('{ device(id: "nope") { id } }', {}, auth);
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|at .*\.ts:/);
  });

  it('still runs an ordinary fleet page', async () => {
    const { status, body } = await graph.post(
      '{ devices(first: 100) { edges { node { id model management { status } access { name } apps { name } } } } }',
      {},
      auth,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });
});
