import { randomBytes } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from '../../observability/logger.js';
import type { ExplorerBundle } from './explorer-bundle.js';

/**
 * The page a browser gets at the GraphQL URL (Apollo's landing page hook):
 *
 * - `auto`: Apollo Sandbox from Apollo's CDN, as users asked for it by name; where the CDN's script or
 *   Sandbox's iframe cannot load (no internet, a proxy that blocks it), the same page switches by itself to
 *   the GraphiQL bundle this server serves at EXPLORER_ASSETS_PATH;
 * - `sandbox`: Apollo Sandbox only (and a sentence saying why when it cannot load);
 * - `graphiql`: the bundled GraphiQL only, nothing fetched from outside.
 *
 * The page says which explorer it settled on in `<html data-explorer>` (`sandbox`, `graphiql`, or
 * `sandbox-unavailable`), for people reading the DOM and for tests.
 */
export type ExplorerPageMode = 'auto' | 'sandbox' | 'graphiql';

/** Where the GraphiQL bundle is served, beside /graphql (the page finds it relative to its own URL). */
export const EXPLORER_ASSETS_PATH = '/explorer';

const SANDBOX_SCRIPT =
  'https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js';
const SANDBOX_ORIGIN = 'https://sandbox.embed.apollographql.com';

export interface ExplorerPageOptions {
  mode: ExplorerPageMode;
  /** How long the CDN script may take before the page gives up on it (`auto` then shows GraphiQL). */
  scriptTimeoutMs?: number;
  /** How long Sandbox's iframe may take to say hello once the script ran. */
  handshakeTimeoutMs?: number;
}

/** The explorer page, with a fresh CSP nonce: the page's own inline script is the only one allowed. */
export function explorerPageHtml({
  mode,
  scriptTimeoutMs = 5_000,
  handshakeTimeoutMs = 10_000,
}: ExplorerPageOptions): string {
  const nonce = randomBytes(16).toString('base64');
  // JSON inside a <script>: '<' escaped so no value can close the element.
  const settings = JSON.stringify({
    mode,
    assets: `${EXPLORER_ASSETS_PATH.slice(1)}/`,
    scriptTimeoutMs,
    handshakeTimeoutMs,
    sandboxScript: SANDBOX_SCRIPT,
    sandboxOrigin: SANDBOX_ORIGIN,
  }).replace(/</g, '\\u003c');
  const sandbox = mode !== 'graphiql';
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'${sandbox ? ` ${new URL(SANDBOX_SCRIPT).origin}` : ''}`,
    // GraphiQL (Monaco, React libraries) adds <style> elements at run time, which carry no nonce.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    // The page's own origin only: operations go to this graph (Sandbox's iframe asks the page to send them).
    "connect-src 'self'",
    "worker-src 'self'",
    `frame-src ${sandbox ? SANDBOX_ORIGIN : "'none'"}`,
    "object-src 'none'",
    "base-uri 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta http-equiv="Content-Security-Policy" content="${csp}" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
<title>Fleetgraph explorer</title>
<link rel="icon" href="data:," />
<style>
  html, body { margin: 0; height: 100%; overflow: hidden; }
  #embeddableSandbox, #graphiql { position: absolute; inset: 0; }
  #embeddableSandbox iframe { width: 100%; height: 100%; border: none; background: white; }
  #loading { font: 14px system-ui, sans-serif; padding: 1em; color: #555; }
</style>
</head>
<body>
<div id="loading">Loading the GraphQL explorer…</div>
<div id="embeddableSandbox"></div>
<div id="graphiql" hidden></div>
<script nonce="${nonce}">
(function () {
  var cfg = ${settings};
  // This page is served at the GraphQL URL: operations go where it came from, the bundle sits beside it.
  var endpoint = location.origin + location.pathname.replace(/\\/+$/, '');
  var assets = new URL(cfg.assets, endpoint).href;
  var settled = false;
  var timer;
  function settle(explorer) {
    settled = true;
    clearTimeout(timer);
    document.documentElement.dataset.explorer = explorer;
  }
  function graphiql(reason) {
    if (settled) return;
    settle('graphiql');
    if (reason) console.warn('Apollo Sandbox is unavailable (' + reason + '): showing the bundled GraphiQL');
    document.getElementById('embeddableSandbox').remove(); // a half-loaded iframe goes with it
    document.getElementById('loading').remove();
    var root = document.getElementById('graphiql');
    root.dataset.endpoint = endpoint;
    root.hidden = false;
    var css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = assets + 'explorer.css';
    document.head.appendChild(css);
    var js = document.createElement('script');
    js.type = 'module';
    js.src = assets + 'explorer.js';
    js.onerror = function () {
      document.body.textContent = 'The GraphiQL bundle could not be loaded from ' + assets + ' (see the server log).';
    };
    document.body.appendChild(js);
  }
  function sandbox() {
    function fail(reason) {
      if (settled) return;
      if (cfg.mode === 'auto') return graphiql(reason);
      settle('sandbox-unavailable');
      document.getElementById('loading').textContent =
        'Apollo Sandbox is unavailable from here (' + reason + '). Set EXPLORER=auto or EXPLORER=graphiql to use the GraphiQL bundled with Fleetgraph.';
    }
    // Stage 2: Sandbox's iframe says hello once it runs. A failed iframe still fires 'load' (the browser's
    // error page), so that event proves nothing.
    window.addEventListener('message', function (e) {
      if (settled || e.origin !== cfg.sandboxOrigin || !e.data || e.data.name !== 'ExplorerListeningForHandshake') return;
      settle('sandbox');
      var loading = document.getElementById('loading');
      if (loading) loading.remove();
    });
    // Stage 1: the embedding script from Apollo's CDN.
    var script = document.createElement('script');
    script.src = cfg.sandboxScript;
    script.onerror = function () { fail('its script did not load'); };
    script.onload = function () {
      if (settled) return;
      clearTimeout(timer);
      if (typeof window.EmbeddedSandbox !== 'function') return fail('its script defines no EmbeddedSandbox');
      try {
        new window.EmbeddedSandbox({
          target: '#embeddableSandbox',
          initialEndpoint: endpoint,
          initialState: { includeCookies: false },
          endpointIsEditable: false,
          runTelemetry: false,
        });
      } catch (error) {
        return fail('EmbeddedSandbox threw ' + error);
      }
      timer = setTimeout(function () { fail('its iframe did not answer'); }, cfg.handshakeTimeoutMs);
    };
    timer = setTimeout(function () { fail('its script took too long'); }, cfg.scriptTimeoutMs);
    document.head.appendChild(script);
  }
  if (cfg.mode === 'graphiql') graphiql('');
  else sandbox();
})();
</script>
</body>
</html>
`;
}

/** Apollo's landing page hook, answering with the explorer page (a new nonce per request). */
export function explorerLandingPage<TContext extends BaseContext>(
  options: ExplorerPageOptions,
): ApolloServerPlugin<TContext> {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html: async () => explorerPageHtml(options) };
        },
      };
    },
  };
}

/**
 * Serves the GraphiQL bundle at EXPLORER_ASSETS_PATH. A development bundle is built by the first request
 * that needs it (a second or so); until then nothing is built, so servers nobody opens in a browser (tests)
 * never pay for it.
 */
export function explorerAssets(bundle: ExplorerBundle, logger: Logger): Router {
  const router = express.Router();
  let serve: ReturnType<typeof express.static> | null = null;
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    if (!serve) {
      try {
        // Revalidated on every load (ETag): explorer.js keeps its name from one build to the next.
        serve = express.static(await bundle.dir(), { index: false, maxAge: 0 });
      } catch (error) {
        logger.error(
          { err: error instanceof Error ? error.message : String(error) },
          'the GraphiQL explorer bundle could not be built',
        );
        res.status(503).json({
          errors: [
            {
              message: 'The GraphiQL explorer bundle is unavailable',
              extensions: { code: 'EXPLORER_UNAVAILABLE' },
            },
          ],
        });
        return;
      }
    }
    serve(req, res, next);
  });
  router.use((_req: Request, res: Response) => {
    res.status(404).json({
      errors: [
        { message: 'No such file in the GraphiQL explorer bundle', extensions: { code: 'NOT_FOUND' } },
      ],
    });
  });
  return router;
}
