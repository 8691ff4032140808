import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
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
      (building ??= developmentBundle({ logger }).catch((error: unknown) => {
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

/**
 * A scratch folder this old was left by a build that died (killed, or the machine went down): a build
 * takes seconds, so no live build is still writing to it.
 */
export const ABANDONED_SCRATCH_MS = 10 * 60_000;
/**
 * Another key's bundle unused this long is removed. Other keys are not stale by being other keys: a server
 * started before a branch switch or `npm install` keeps serving its own folder, and a second process of
 * other sources can share this node_modules. Nothing records who is serving a folder (a pid says nothing
 * across containers sharing the volume), so "in use" is read from when a process last started serving it
 * (each one touches the manifest): a week leaves every ordinary server alone while bundles of old lockfiles
 * (7 MiB each) still go. A server running from the sources for longer than that loses its explorer
 * files if a build of other sources runs meanwhile; restarting it rebuilds them.
 */
export const UNUSED_BUNDLE_MS = 7 * 24 * 60 * 60_000;
/** Scratch folders are `.<key>-<pid>-<random>`: dot-prefixed, so never taken for a bundle. */
const SCRATCH = /^\.[0-9a-f]{16}-\d+-[0-9a-f]{8}$/;

export interface DevelopmentBundleOptions {
  logger: Logger;
  /** node_modules/.cache/fleetgraph-explorer/ unless a test gives its own. */
  cacheDir?: string;
  key?: string;
  /** buildExplorerBundle unless a test gives a faster (or failing) one. */
  build?: (outDir: string, key: string) => Promise<ExplorerBundleManifest>;
}

/** The development bundle's folder in the cache, built first if no complete one is there. */
export async function developmentBundle({
  logger,
  cacheDir = CACHE_DIR,
  key = bundleKey(),
  build = buildExplorerBundle,
}: DevelopmentBundleOptions): Promise<string> {
  const dir = join(cacheDir, key);
  if (existsSync(join(dir, MANIFEST))) {
    await markUsed(dir);
    return dir;
  }
  logger.info({ dir }, 'building the GraphiQL explorer bundle (first use of these sources)');
  const started = performance.now();
  // Built aside and renamed into place: jest workers and a second server may build at the same time, and
  // none may serve a half-written folder.
  const scratch = join(cacheDir, `.${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const manifest = await build(scratch, key);
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
  await markUsed(dir);
  try {
    await sweepCache(cacheDir, key);
  } catch (error) {
    // Only disk space is at stake: the bundle is in place.
    logger.warn(
      { err: error instanceof Error ? error.message : String(error), cacheDir },
      'could not clear old GraphiQL explorer bundles',
    );
  }
  return dir;
}

/** Touches the manifest: what sweepCache reads as "served lately" (a read-only cache is left as it is). */
async function markUsed(dir: string): Promise<void> {
  const now = new Date();
  await utimes(join(dir, MANIFEST), now, now).catch(() => undefined);
}

/**
 * Removes what no process can still be using: scratch folders of builds that died (a build's own failure
 * removes its scratch itself) and bundles of other keys unused for UNUSED_BUNDLE_MS. Runs after a build, so
 * a cache nobody rebuilds is never walked.
 */
async function sweepCache(cacheDir: string, key: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(cacheDir)) {
    const path = join(cacheDir, entry);
    let maxAgeMs: number;
    let datedBy: string;
    if (SCRATCH.test(entry)) {
      maxAgeMs = ABANDONED_SCRATCH_MS;
      datedBy = path; // a build writes its files into it
    } else if (entry !== key && !entry.startsWith('.')) {
      maxAgeMs = UNUSED_BUNDLE_MS;
      datedBy = join(path, MANIFEST); // markUsed
    } else continue;
    // A folder with no manifest (put there by hand, or of an older layout) is dated by the folder itself.
    const dated = await stat(datedBy)
      .catch(() => stat(path))
      .catch(() => null);
    if (dated && now - dated.mtimeMs > maxAgeMs) await rm(path, { recursive: true, force: true });
  }
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
