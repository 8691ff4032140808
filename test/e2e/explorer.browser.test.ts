import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import {
  closeChromium,
  describeInBrowser,
  launchChromium,
  offlinePage,
  screenshot,
  settleAll,
} from '../helpers/browser.js';
import type { PageLog } from '../helpers/browser.js';
import { startTestGraph } from '../helpers/graph.js';
import type { TestGraph } from '../helpers/graph.js';

/**
 * The explorer a browser gets at the graph URL, in Debian's chromium with no internet: in `auto` (the
 * development default) the page asks Apollo's CDN for Sandbox, is refused, and shows the GraphiQL bundled in
 * Fleetgraph's build, which runs a query, shows the schema docs and runs a subscription over graphql-ws.
 * Screenshots land in test/artifacts/.
 */
const SANDBOX_SCRIPT =
  'https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js';
const EDITOR = '.graphiql-query-editor .monaco-editor';
const RESULT = '.result-window .view-lines';
const FLEET = 'query Fleet { devices(first: 3) { edges { node { imei } } } }';

/** The browser's own failure to reach the CDN is expected here; anything else is a problem. */
const unexpected = (log: PageLog): string[] =>
  log.problems.filter((p) => !p.includes('net::ERR_INTERNET_DISCONNECTED'));

/** Replaces the query and waits until GraphiQL has parsed it (its tab takes the operation's name). */
async function setOperation(page: Page, text: string, name: string): Promise<void> {
  await page.click(`${EDITOR} .view-lines`);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  // One line in one insertText: no per-key bracket closing, suggestion accepts or auto-indenting.
  await page.keyboard.sendCharacter(text);
  // GraphiQL parses 100 ms after the last edit; run before that and it sends the previous operation.
  await page.waitForSelector(
    `::-p-xpath(//button[contains(@class, "graphiql-tab-button")][normalize-space() = "${name}"])`,
  );
}

/** The response pane's text (Monaco shows spaces as U+00A0), once `expected` appears in it. */
async function resultContaining(page: Page, expected: string): Promise<string> {
  const pane = await page.waitForSelector(RESULT);
  await page.waitForFunction(
    (el, want) => (el.textContent ?? '').replace(/\u00a0/g, ' ').includes(want),
    {},
    pane,
    expected,
  );
  // One div per line, in order: their text is the response, without line breaks (JSON needs none).
  return page.$eval(RESULT, (el) => (el.textContent ?? '').replace(/\u00a0/g, ' '));
}

describeInBrowser('the explorer at the graph URL (chromium, no internet)', () => {
  let browser: Browser;
  let graph: TestGraph;
  let page: Page;
  let log: PageLog;
  let upgrades = 0;

  beforeAll(async () => {
    await settleAll(
      launchChromium().then((launched) => (browser = launched)),
      startTestGraph({ emulators: { fleet: { size: 50, seed: 'explorer' } } }).then(
        (started) => (graph = started),
      ),
    );
    graph.fleetgraph.server.httpServer.on('upgrade', () => (upgrades += 1));
    ({ page, log } = await offlinePage(browser));
  });
  afterAll(() => settleAll(closeChromium(browser), graph?.stop()));

  it('auto: asks Apollo CDN for Sandbox, then shows the GraphiQL bundled in the build', async () => {
    await page.goto(graph.url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('html[data-explorer="graphiql"]');
    await page.waitForSelector(EDITOR);
    expect(log.external).toEqual([SANDBOX_SCRIPT]);
    const origin = new URL(graph.url).origin;
    expect(log.local).toEqual(
      expect.arrayContaining([
        graph.url,
        `${origin}/explorer/explorer.js`,
        `${origin}/explorer/explorer.css`,
      ]),
    );
  });

  it('runs a named query and shows its result', async () => {
    const { body } = await graph.post(FLEET);
    const edges = (body.data as { devices: { edges: Array<{ node: { imei: string | null } }> } }).devices
      .edges;
    expect(edges).toHaveLength(3);

    await setOperation(page, FLEET, 'Fleet');
    // Laid out on lines by GraphiQL's own prettifier (for the screenshot).
    await page.click('button[aria-label^="Prettify query"]');
    await page.waitForSelector('.graphiql-query-editor .view-line:nth-child(6)');

    await page.click('.graphiql-execute-button');
    const shown = await resultContaining(page, '"edges"');
    expect(JSON.parse(shown)).toEqual(body);
    await screenshot(page, 'explorer-graphiql-query');
  });

  it('shows the schema in the docs explorer', async () => {
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name');
    const rootTypes = await page.$$eval('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name', (links) =>
      links.map((a) => a.textContent),
    );
    expect(rootTypes).toEqual(expect.arrayContaining(['Query', 'Mutation', 'Subscription']));
    // Into Query: its fields, `devices` among them.
    await page
      .locator('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name')
      .filter((a) => a.textContent === 'Query')
      .click();

    await page.waitForSelector('.graphiql-doc-explorer a.graphiql-doc-explorer-field-name');
    const fields = await page.$$eval('.graphiql-doc-explorer a.graphiql-doc-explorer-field-name', (links) =>
      links.map((a) => a.textContent),
    );
    expect(fields).toEqual(expect.arrayContaining(['devices', 'device', 'uploadJob']));
    await screenshot(page, 'explorer-graphiql-docs');
  });

  it('runs a subscription over graphql-ws on the same path', async () => {
    const before = upgrades;
    await setOperation(page, 'subscription Job { uploadJobChanged(id: "no-such-job") { id } }', 'Job');
    await page.click('.graphiql-execute-button');
    // An unknown job ends the subscription at once with NOT_FOUND: the answer came over the WebSocket.
    expect(await resultContaining(page, 'NOT_FOUND')).toContain('"code": "NOT_FOUND"');
    expect(upgrades).toBe(before + 1);
  });

  it('ran with no page error and no Content-Security-Policy violation', () => {
    expect(unexpected(log)).toEqual([]);
    expect(log.console.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
  });

  describe('the other settings', () => {
    let graphiqlOnly: TestGraph;
    let sandboxOnly: TestGraph;
    beforeAll(() =>
      settleAll(
        startTestGraph({ sharedEmulators: graph.emulators, config: { explorer: 'graphiql' } }).then(
          (started) => (graphiqlOnly = started),
        ),
        startTestGraph({ sharedEmulators: graph.emulators, config: { explorer: 'sandbox' } }).then(
          (started) => (sandboxOnly = started),
        ),
      ),
    );
    afterAll(() => settleAll(graphiqlOnly?.stop(), sandboxOnly?.stop()));

    it('EXPLORER=graphiql: GraphiQL at once, nothing asked of any other host', async () => {
      const { page: only, log: onlyLog } = await offlinePage(browser);
      await only.goto(graphiqlOnly.url, { waitUntil: 'domcontentloaded' });
      await only.waitForSelector('html[data-explorer="graphiql"]');
      await only.waitForSelector(EDITOR);
      expect(onlyLog.external).toEqual([]);
      expect(unexpected(onlyLog)).toEqual([]);
      await only.close();
    });

    it('EXPLORER=sandbox: offline, says Apollo Sandbox cannot load, and never loads GraphiQL', async () => {
      const { page: only, log: onlyLog } = await offlinePage(browser);
      await only.goto(sandboxOnly.url, { waitUntil: 'domcontentloaded' });
      await only.waitForSelector('html[data-explorer="sandbox-unavailable"]');
      expect(await only.$eval('#loading', (el) => el.textContent)).toMatch(
        /Apollo Sandbox is unavailable from here .*EXPLORER=graphiql/,
      );
      expect(onlyLog.external).toEqual([SANDBOX_SCRIPT]);
      expect(onlyLog.local.filter((url) => url.includes('/explorer/'))).toEqual([]);
      await only.close();
    });

    it('auto where the CDN answers (a stand-in for it): Apollo Sandbox, and no GraphiQL', async () => {
      // Stands in for Apollo's embed script and iframe: the iframe says hello as Sandbox's does.
      const embed = `window.EmbeddedSandbox = function (o) {
        var frame = document.createElement('iframe');
        frame.src = 'https://sandbox.embed.apollographql.com/sandbox/explorer?endpoint=' + encodeURIComponent(o.initialEndpoint);
        document.querySelector(o.target).appendChild(frame);
      };`;
      const iframe = `<!doctype html><p>Sandbox stand-in</p><script>parent.postMessage({ name: 'ExplorerListeningForHandshake' }, '*')</script>`;
      const answer = async (request: HTTPRequest): Promise<boolean> => {
        const url = request.url();
        if (url === SANDBOX_SCRIPT)
          await request.respond({ status: 200, contentType: 'text/javascript', body: embed });
        else if (url.startsWith('https://sandbox.embed.apollographql.com/'))
          await request.respond({ status: 200, contentType: 'text/html', body: iframe });
        else return false;
        return true;
      };
      const { page: online, log: onlineLog } = await offlinePage(browser, answer);
      await online.goto(graph.url, { waitUntil: 'domcontentloaded' });
      await online.waitForSelector('html[data-explorer="sandbox"]');
      expect(await online.$('#embeddableSandbox iframe')).not.toBeNull();
      expect(onlineLog.local.filter((url) => url.includes('/explorer/'))).toEqual([]);
      expect(onlineLog.problems).toEqual([]);
      await online.close();
    });
  });
});
