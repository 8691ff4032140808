import { jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ABANDONED_SCRATCH_MS,
  UNUSED_BUNDLE_MS,
  developmentBundle,
} from '../../src/server/explorer/explorer-bundle.js';
import type { ExplorerBundleManifest } from '../../src/server/explorer/explorer-bundle.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * The development bundle's cache folder, with a stand-in for esbuild (the real build takes seconds and is
 * the browser tests' business): what a build publishes, what it leaves behind when it fails, and which
 * folders of other processes it removes.
 */
const KEY = 'aaaaaaaaaaaaaaaa';
const OTHER_KEY = 'bbbbbbbbbbbbbbbb';
const logger = silentLogger();

/** Writes a bundle the way buildExplorerBundle does: files first, the manifest last. */
async function fakeBuild(outDir: string, key: string): Promise<ExplorerBundleManifest> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'explorer.js'), `// ${key}\n`);
  await sleep(20); // long enough for a concurrent build to overlap
  const manifest = { key, graphiql: 'test', files: 1, bytes: 1 };
  await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

/** A complete bundle of `key`, last served `ageMs` ago. */
async function bundleOf(cacheDir: string, key: string, ageMs: number): Promise<string> {
  const dir = join(cacheDir, key);
  await fakeBuild(dir, key);
  const then = new Date(Date.now() - ageMs);
  await utimes(join(dir, 'manifest.json'), then, then);
  return dir;
}

/** A scratch folder as a build of another process leaves it, last written `ageMs` ago. */
async function scratchOf(cacheDir: string, pid: number, ageMs: number): Promise<string> {
  const dir = join(cacheDir, `.${KEY}-${pid}-0123abcd`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'explorer.js'), '// half written\n');
  const then = new Date(Date.now() - ageMs);
  await utimes(dir, then, then);
  return dir;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('the development explorer bundle cache', () => {
  let cacheDir: string;
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'fleetgraph-explorer-cache-'));
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('publishes a complete bundle under its key, with no scratch folder left', async () => {
    const dir = await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(dir).toBe(join(cacheDir, KEY));
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({ key: KEY });
    expect(await readdir(cacheDir)).toEqual([KEY]);
  });

  it("leaves another key's bundle in use alone (another server of other sources serves it)", async () => {
    const other = await bundleOf(cacheDir, OTHER_KEY, 1 * DAY);
    await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(existsSync(join(other, 'manifest.json'))).toBe(true);
    expect((await readdir(cacheDir)).sort()).toEqual([KEY, OTHER_KEY]);
  });

  it("removes another key's bundle nobody has served for UNUSED_BUNDLE_MS", async () => {
    await bundleOf(cacheDir, OTHER_KEY, UNUSED_BUNDLE_MS + DAY);
    await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(await readdir(cacheDir)).toEqual([KEY]);
  });

  it('reuses a complete bundle without building, and marks it used so no sweep takes it', async () => {
    const dir = await bundleOf(cacheDir, KEY, UNUSED_BUNDLE_MS + DAY);
    const build = jest.fn(fakeBuild);
    expect(await developmentBundle({ logger, cacheDir, key: KEY, build })).toBe(dir);
    expect(build).not.toHaveBeenCalled();
    const { mtimeMs } = await stat(join(dir, 'manifest.json'));
    expect(Date.now() - mtimeMs).toBeLessThan(MINUTE);
  });

  it('a failed build rejects, publishes nothing and leaves no scratch folder', async () => {
    const failing = async (outDir: string): Promise<ExplorerBundleManifest> => {
      await mkdir(join(outDir, 'chunks'), { recursive: true });
      await writeFile(join(outDir, 'chunks', 'half.js'), '// half written\n');
      throw new Error('esbuild: Could not resolve "graphiql"');
    };
    await expect(developmentBundle({ logger, cacheDir, key: KEY, build: failing })).rejects.toThrow(
      'Could not resolve "graphiql"',
    );
    expect(await readdir(cacheDir)).toEqual([]);
    // The next request builds again.
    await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(await readdir(cacheDir)).toEqual([KEY]);
  });

  it('removes scratch folders of builds that died (kill -9), and keeps those being written', async () => {
    const abandoned = await scratchOf(cacheDir, 4_000_001, ABANDONED_SCRATCH_MS + MINUTE);
    const building = await scratchOf(cacheDir, 4_000_002, 5_000);
    await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(building)).toBe(true);
  });

  it('leaves dot-folders it did not make alone', async () => {
    const foreign = join(cacheDir, '.keep');
    await mkdir(foreign);
    const then = new Date(Date.now() - UNUSED_BUNDLE_MS - DAY);
    await utimes(foreign, then, then);
    await developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild });
    expect(existsSync(foreign)).toBe(true);
  });

  it('two builds of one key at once both serve the complete bundle, and leave one folder', async () => {
    const build = jest.fn(fakeBuild);
    const dirs = await Promise.all([
      developmentBundle({ logger, cacheDir, key: KEY, build }),
      developmentBundle({ logger, cacheDir, key: KEY, build }),
    ]);
    expect(build).toHaveBeenCalledTimes(2); // they did race
    expect(dirs).toEqual([join(cacheDir, KEY), join(cacheDir, KEY)]);
    expect(existsSync(join(cacheDir, KEY, 'manifest.json'))).toBe(true);
    expect(await readdir(cacheDir)).toEqual([KEY]);
  });

  it('two builds of different keys at once keep both bundles', async () => {
    const dirs = await Promise.all([
      developmentBundle({ logger, cacheDir, key: KEY, build: fakeBuild }),
      developmentBundle({ logger, cacheDir, key: OTHER_KEY, build: fakeBuild }),
    ]);
    for (const dir of dirs) expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    expect((await readdir(cacheDir)).sort()).toEqual([KEY, OTHER_KEY]);
  });
});
