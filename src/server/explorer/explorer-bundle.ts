import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../observability/logger.js';

/**
 * The GraphiQL explorer Fleetgraph serves from its own build: browser/graphiql.ts (GraphiQL 5, React and
 * Monaco) bundled by esbuild into static files, so the explorer renders where Apollo's CDN cannot be
 * reached. graphiql, react and esbuild are development dependencies; the bundle comes from one of two places:
 *
 * - `npm run build` writes it to dist/explorer/ (BUILT_BUNDLE_DIR), beside the compiled server, for the
 *   production tree, which has no esbuild;
 * - running from the sources (`npm start`, `npm test`), the server builds it on first use into
 *   node_modules/.cache/fleetgraph-explorer/<key>/, keyed by the sources and the lockfile, so a fresh clone
 *   needs no extra step and a changed dependency rebuilds it (about a second).
 */

/** The checkout (or image) root: this file sits three folders down, in src/ and dist/ alike. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where `npm run build` writes the bundle: dist/explorer/, found from the compiled dist/server/explorer/. */
export const BUILT_BUNDLE_DIR = fileURLToPath(new URL('../../explorer/', import.meta.url));
/** The browser entry: in a checkout and the image's build stage, never in the production tree. */
const ENTRY = join(ROOT, 'src/server/explorer/browser/graphiql.ts');
/** Development builds: node_modules/.cache is where tools keep caches, and it goes with node_modules. */
const CACHE_DIR = join(ROOT, 'node_modules/.cache/fleetgraph-explorer');
const MANIFEST = 'manifest.json';

export interface ExplorerBundleManifest {
  /** What the bundle was built from (sources and lockfile); a development build is reused while it matches. */
  key: string;
  graphiql: string;
  files: number;
  bytes: number;
}

/** A bundle folder, once it exists: its files are served as they are. */
export interface ExplorerBundle {
  /** `build`: dist/explorer/ from `npm run build`; `development`: built from the sources on first use. */
  readonly origin: 'build' | 'development';
  /** The folder holding explorer.js, explorer.css, chunks/ and workers/; builds it first if need be. */
  dir(): Promise<string>;
}

/** The bundle this process can serve: the built one, else one built from the sources, else null. */
export function findExplorerBundle(logger: Logger): ExplorerBundle | null {
  if (existsSync(join(BUILT_BUNDLE_DIR, MANIFEST)))
    return { origin: 'build', dir: () => Promise.resolve(BUILT_BUNDLE_DIR) };
  if (!existsSync(ENTRY)) return null;
  let building: Promise<string> | null = null;
  return {
    origin: 'development',
    dir: () =>
      (building ??= developmentBundle(logger).catch((error: unknown) => {
        building = null; // the next request tries again (a missing package installed meanwhile)
        throw error;
      })),
  };
}

/** What a development bundle depends on: the entry, this file (the build options) and the lockfile. */
function bundleKey(): string {
  const hash = createHash('sha256');
  for (const file of [ENTRY, fileURLToPath(import.meta.url), join(ROOT, 'package-lock.json')])
    hash.update(existsSync(file) ? readFileSync(file) : `${file}: none`).update('\0');
  return hash.digest('hex').slice(0, 16);
}

async function developmentBundle(logger: Logger): Promise<string> {
  const key = bundleKey();
  const dir = join(CACHE_DIR, key);
  if (existsSync(join(dir, MANIFEST))) return dir;
  logger.info({ dir }, 'building the GraphiQL explorer bundle (first use of these sources)');
  const started = performance.now();
  // Built aside and renamed into place: jest workers and a second server may build at the same time, and
  // none may serve a half-written folder.
  const scratch = join(CACHE_DIR, `.${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const manifest = await buildExplorerBundle(scratch, key);
    try {
      await rename(scratch, dir);
    } catch (error) {
      if (!existsSync(join(dir, MANIFEST))) throw error; // another process won the race otherwise
    }
    logger.info(
      { dir, files: manifest.files, bytes: manifest.bytes, ms: Math.round(performance.now() - started) },
      'GraphiQL explorer bundle built',
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  // Bundles of other keys are of sources or packages no longer checked out.
  for (const entry of await readdir(CACHE_DIR))
    if (entry !== key && !entry.startsWith('.'))
      await rm(join(CACHE_DIR, entry), { recursive: true, force: true });
  return dir;
}

/**
 * Bundles browser/graphiql.ts into `outDir`: explorer.js (ESM, code-split so Monaco's language modes load
 * when used), chunks/, explorer.css (GraphiQL's, fonts inlined) and workers/*.js (Monaco's web workers,
 * classic scripts), then manifest.json. Needs the development dependencies (esbuild, graphiql, react).
 */
export async function buildExplorerBundle(
  outDir: string,
  key: string = bundleKey(),
): Promise<ExplorerBundleManifest> {
  if (!existsSync(ENTRY))
    throw new Error(`${ENTRY} is missing: the GraphiQL bundle is built from a checkout`);
  // A development dependency: imported only when a bundle is built, never by the production tree.
  const esbuild = await import('esbuild');
  // Monaco's workers are not imported by GraphiQL's code but named by path: resolved from graphiql's own
  // place in node_modules, wherever npm put them.
  const graphiqlPackage = createRequire(ENTRY).resolve('graphiql/package.json');
  const fromGraphiql = createRequire(graphiqlPackage);
  const graphiqlVersion = (JSON.parse(await readFile(graphiqlPackage, 'utf8')) as { version: string })
    .version;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    legalComments: 'none',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
    outdir: outDir,
  } as const;
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: { explorer: ENTRY },
      format: 'esm',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      // Monaco's CSS names codicon.ttf: inlined, so explorer.css stands alone.
      loader: { '.ttf': 'dataurl', '.woff2': 'dataurl' },
      // GraphiQL's Prettify imports prettier's legacy UMD parsers, which esbuild hands over as a bare
      // `default` (no `parsers`): Prettify then fails ("Couldn't resolve parser"). The ESM plugins are the same code.
      alias: {
        'prettier/parser-graphql': 'prettier/plugins/graphql',
        'prettier/parser-babel': 'prettier/plugins/babel',
      },
      plugins: [
        {
          // graphiql/style.css already carries Monaco's CSS; Monaco's per-module CSS imports would only
          // become chunk .css files that nothing loads.
          name: 'drop-monaco-css',
          setup(build) {
            build.onLoad({ filter: /[\\/]monaco-editor[\\/].*\.css$/ }, () => ({
              contents: '',
              loader: 'css',
            }));
          },
        },
      ],
    }),
    esbuild.build({
      ...common,
      entryPoints: {
        'workers/editor.worker': fromGraphiql.resolve('monaco-editor/esm/vs/editor/editor.worker.js'),
        'workers/json.worker': fromGraphiql.resolve('monaco-editor/esm/vs/language/json/json.worker.js'),
        'workers/graphql.worker': fromGraphiql.resolve('monaco-graphql/esm/graphql.worker.js'),
      },
      format: 'iife',
    }),
  ]);
  let files = 0;
  let bytes = 0;
  for (const file of await readdir(outDir, { recursive: true })) {
    const info = await stat(join(outDir, file));
    if (info.isFile()) {
      files += 1;
      bytes += info.size;
    }
  }
  const manifest: ExplorerBundleManifest = { key, graphiql: graphiqlVersion, files, bytes };
  await writeFile(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
