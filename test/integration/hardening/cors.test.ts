import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/**
 * CORS on /graphql without a browser: the headers of preflights and answers for a listed origin and for
 * one not listed, and credentials as configured (test/e2e/cors.browser.test.ts shows chromium acting on
 * them; test/unit/explorer-cors-config.test.ts, which origins each setting allows).
 */
const APP = 'https://app.example.com';
const OTHER = 'https://elsewhere.example';

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    },
  });
}

const corsHeaders = (response: Response): Record<string, string> =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));

describe('CORS on /graphql (CORS_ORIGINS lists one origin)', () => {
  let graph: TestGraph;
  let withCredentials: TestGraph;
  beforeAll(async () => {
    graph = await startTestGraph({
      env: { CORS_ORIGINS: APP },
      emulators: { fleet: { size: 10, seed: 'cors' } },
    });
    withCredentials = await startTestGraph({
      env: { CORS_ORIGINS: APP, CORS_CREDENTIALS: 'true' },
      sharedEmulators: graph.emulators,
    });
  });
  afterAll(async () => {
    await withCredentials?.stop();
    await graph?.stop();
  });

  it("answers a listed origin's preflight with what it may send, without credentials", async () => {
    const response = await preflight(graph.url, APP);
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'content-type,authorization',
      'access-control-expose-headers': 'x-request-id',
      'access-control-max-age': '600',
    });
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('answers the preflight of an origin not listed with no Access-Control-* header at all', async () => {
    const response = await preflight(graph.url, OTHER);
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({});
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('marks answers for a listed origin, and only for it', async () => {
    const ask = (origin: string) =>
      fetch(graph.url, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    const listed = await ask(APP);
    expect(listed.status).toBe(200);
    expect(corsHeaders(listed)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'x-request-id',
    });
    // Answered all the same: CORS tells browsers what to hide, it stops no other caller.
    const other = await ask(OTHER);
    expect(other.status).toBe(200);
    expect(corsHeaders(other)).toEqual({});
    expect(other.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('allows credentials where CORS_CREDENTIALS=true', async () => {
    expect(corsHeaders(await preflight(withCredentials.url, APP))).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
    });
    expect(corsHeaders(await preflight(withCredentials.url, OTHER))).toEqual({});
  });

  it('keeps CSRF prevention: a GET from a listed origin without a preflight header is refused', async () => {
    const response = await fetch(`${graph.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { origin: APP },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    expect(body.errors[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' } });
    expect(body.errors[0]?.message).toMatch(/Cross-Site Request Forgery/);
  });
});
