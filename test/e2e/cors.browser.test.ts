import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'puppeteer-core';
import {
  closeChromium,
  describeInBrowser,
  launchChromium,
  offlinePage,
  settleAll,
} from '../helpers/browser.js';
import type { PageLog } from '../helpers/browser.js';
import { startTestGraph } from '../helpers/graph.js';
import type { TestGraph } from '../helpers/graph.js';

/**
 * CORS as a browser enforces it: pages served from two other origins (other ports on 127.0.0.1) call the
 * graph with fetch from chromium. The listed one gets data, with or without credentials (CORS_CREDENTIALS=true);
 * the other is refused by the browser after a preflight that carried no Access-Control-Allow-Origin, and its
 * request is never sent. CSRF prevention still refuses a request sent without a preflight.
 */
const PAGE = '<!doctype html><title>another origin</title><p>A page of another origin.</p>';

/** A page server on a free port: its origin is another origin than the graph's. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Called {
  status?: number;
  body?: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  failed?: string;
}

/** fetch from inside the page: what the page's own script would see. */
function callFrom(page: Page, url: string, init: RequestInit): Promise<Called> {
  return page.evaluate(
    async (target, options) => {
      try {
        const response = await fetch(target, options);
        return { status: response.status, body: (await response.json()) as Called['body'] };
      } catch (error) {
        return { failed: String(error) };
      }
    },
    url,
    init as Record<string, unknown>,
  );
}

const FLEET = { query: 'query Fleet { devices(first: 2) { edges { node { id } } } }' };
const post = (credentials: 'omit' | 'include'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(FLEET),
  credentials,
});

describeInBrowser('CORS from pages of other origins (chromium)', () => {
  let browser: Browser;
  let graph: TestGraph;
  let graphUrl: string;
  let listed: { server: Server; origin: string };
  let unlisted: { server: Server; origin: string };
  /** What reached the graph: method and Origin of each request. */
  let received: string[] = [];

  beforeAll(async () => {
    await settleAll(
      pageServer().then((started) => (listed = started)),
      pageServer().then((started) => (unlisted = started)),
      launchChromium().then((launched) => (browser = launched)),
    );
    graph = await startTestGraph({
      env: { CORS_ORIGINS: listed.origin, CORS_CREDENTIALS: 'true' },
      emulators: { fleet: { size: 20, seed: 'cors' } },
    });
    // The graph listens on 127.0.0.1: the same host as the pages, another port, so another origin.
    graphUrl = graph.url.replace('//localhost:', '//127.0.0.1:');
    // Prepended: Express rewrites req.url under a mounted path while the server's own listener runs.
    graph.fleetgraph.server.httpServer.prependListener('request', (req) => {
      if (req.url?.startsWith('/graphql')) received.push(`${req.method} ${req.headers.origin ?? '-'}`);
    });
  });
  beforeEach(() => {
    received = [];
  });
  afterAll(async () => {
    await settleAll(closeChromium(browser), graph?.stop());
    listed?.server.close();
    unlisted?.server.close();
  });

  async function pageOf(origin: string): Promise<{ page: Page; log: PageLog }> {
    const opened = await offlinePage(browser);
    await opened.page.goto(`${origin}/`);
    return opened;
  }

  it('a page of a listed origin gets data: preflight answered, then the request', async () => {
    const { page, log } = await pageOf(listed.origin);
    const called = await callFrom(page, graphUrl, post('omit'));
    expect(called.failed).toBeUndefined();
    expect(called.status).toBe(200);
    expect(called.body?.errors).toBeUndefined();
    expect((called.body?.data as { devices: { edges: unknown[] } }).devices.edges).toHaveLength(2);
    expect(received).toEqual([`OPTIONS ${listed.origin}`, `POST ${listed.origin}`]);
    expect(log.problems).toEqual([]);
    await page.close();
  });

  it('and with credentials, as CORS_CREDENTIALS=true allows', async () => {
    const { page } = await pageOf(listed.origin);
    const called = await callFrom(page, graphUrl, post('include'));
    expect(called.status).toBe(200);
    expect(called.body?.errors).toBeUndefined();
    await page.close();
  });

  it('a page of an origin not listed is refused by the browser, and its request never sent', async () => {
    const { page, log } = await pageOf(unlisted.origin);
    const called = await callFrom(page, graphUrl, post('omit'));
    expect(called).toEqual({ failed: 'TypeError: Failed to fetch' });
    expect(log.console.join('\n')).toMatch(
      /blocked by CORS policy.*No 'Access-Control-Allow-Origin' header/s,
    );
    expect(received).toEqual([`OPTIONS ${unlisted.origin}`]);
    await page.close();
  });

  it('CSRF prevention still refuses a request a listed page sends without a preflight', async () => {
    const { page } = await pageOf(listed.origin);
    // A GET with no custom header is a "simple" request: the browser sends it with no preflight.
    const called = await callFrom(page, `${graphUrl}?query=${encodeURIComponent('{ __typename }')}`, {});
    expect(called.status).toBe(400);
    expect(called.body?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(called.body?.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    expect(received).toEqual([`GET ${listed.origin}`]);
    await page.close();
  });
});
