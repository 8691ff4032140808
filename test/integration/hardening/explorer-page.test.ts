import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/**
 * The explorer page and the GraphiQL bundle over plain HTTP, per EXPLORER setting (test/e2e/
 * explorer.browser.test.ts runs them in chromium).
 */
const CDN = 'https://embeddable-sandbox.cdn.apollographql.com';

const html = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
/** The page's Content-Security-Policy, from its <meta>. */
const cspOf = (page: string): string =>
  /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(page)?.[1] ?? '(none)';

describe('the explorer page and bundle', () => {
  let auto: TestGraph;
  let graphiql: TestGraph;
  let sandbox: TestGraph;
  let off: TestGraph;
  beforeAll(async () => {
    auto = await startTestGraph({ emulators: { fleet: { size: 10, seed: 'explorer-page' } } });
    const sharing = (explorer: 'graphiql' | 'sandbox' | 'off') =>
      startTestGraph({ sharedEmulators: auto.emulators, config: { explorer } });
    [graphiql, sandbox, off] = await Promise.all([sharing('graphiql'), sharing('sandbox'), sharing('off')]);
  });
  afterAll(async () => {
    await Promise.all([graphiql, sandbox, off].map((g) => g?.stop()));
    await auto?.stop();
  });

  it('auto: answers a browser at the graph URL with the page, a new CSP nonce each time', async () => {
    const [first, second] = await Promise.all([html(auto.url), html(auto.url)]);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/html/);
    const [a, b] = [await first.text(), await second.text()];
    expect(a).toContain('"mode":"auto"');
    const nonce = (page: string) => /'nonce-([^']+)'/.exec(cspOf(page))?.[1];
    expect(nonce(a)).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(nonce(a)).not.toBe(nonce(b));
    expect(a).toContain(`<script nonce="${nonce(a)}">`);
    expect(cspOf(a)).toContain(`script-src 'self' 'nonce-${nonce(a)}' ${CDN}`);
    expect(cspOf(a)).toContain('frame-src https://sandbox.embed.apollographql.com');
  });

  it('serves the GraphiQL bundle beside /graphql, and says NOT_FOUND for anything else', async () => {
    const origin = new URL(auto.url).origin;
    for (const file of ['explorer.js', 'explorer.css', 'workers/graphql.worker.js', 'manifest.json']) {
      const response = await fetch(`${origin}/explorer/${file}`);
      expect(`${file} ${response.status}`).toBe(`${file} 200`);
      await response.arrayBuffer();
    }
    const js = await fetch(`${origin}/explorer/explorer.js`);
    expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(js.headers.get('etag')).toBeTruthy();
    const missing = await fetch(`${origin}/explorer/no-such-file.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      errors: [
        { message: 'No such file in the GraphiQL explorer bundle', extensions: { code: 'NOT_FOUND' } },
      ],
    });
  });

  it('graphiql: the page allows nothing from Apollo', async () => {
    const page = await (await html(graphiql.url)).text();
    expect(page).toContain('"mode":"graphiql"');
    expect(cspOf(page)).not.toContain('apollographql.com');
    expect(cspOf(page)).toContain("frame-src 'none'");
  });

  it('sandbox: the page, and no bundle served', async () => {
    expect(await (await html(sandbox.url)).text()).toContain('"mode":"sandbox"');
    expect((await fetch(`${new URL(sandbox.url).origin}/explorer/explorer.js`)).status).toBe(404);
  });

  it('off: no page and no bundle', async () => {
    expect(await (await html(off.url)).text()).not.toContain('data-explorer');
    expect((await fetch(`${new URL(off.url).origin}/explorer/explorer.js`)).status).toBe(404);
  });
});
