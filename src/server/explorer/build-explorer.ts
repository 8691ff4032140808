import { relative, resolve } from 'node:path';
import { BUILT_BUNDLE_DIR, buildExplorerBundle } from './explorer-bundle.js';

/**
 * `npm run build`'s second step: `node dist/server/explorer/build-explorer.js [outDir]` writes the GraphiQL
 * bundle to dist/explorer/, where the compiled server finds it. It lives in src/ (not scripts/) so the
 * image's build stage, which copies src/ only, can run it too.
 */
const outDir = resolve(process.argv[2] ?? BUILT_BUNDLE_DIR);
const started = performance.now();
const manifest = await buildExplorerBundle(outDir);
console.log(
  `GraphiQL ${manifest.graphiql} explorer bundle: ${manifest.files} files, ${(manifest.bytes / 1048576).toFixed(1)} MiB in ${relative(process.cwd(), outDir) || '.'} (${Math.round(performance.now() - started)} ms)`,
);
