import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { Ignore } from '@balena/dockerignore';

// Its types declare an ES default export, but the package is CommonJS `module.exports = factory`.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

/**
 * No Docker engine runs on these machines, so `docker build` is never run by the tests (production-tree
 * checks what the image holds by building the same tree by hand). What that cannot catch is the build
 * context: every file a COPY in the Dockerfile names must survive .dockerignore, read with Docker's own
 * pattern rules (@balena/dockerignore, the matcher docker-modem uses), or the build fails on a clean host.
 */
const copySources = (dockerfile: string): string[] =>
  dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^COPY\s/i.test(line) && !/--from=/i.test(line))
    .flatMap((line) =>
      line
        .split(/\s+/)
        .slice(1, -1)
        .filter((arg) => !arg.startsWith('--')),
    )
    .map((source) => source.replace(/^\.\//, '').replace(/\/$/, ''));

describe('the Docker build context', () => {
  it('holds every file the Dockerfile copies, and none of node_modules, dist or .env', async () => {
    const included = dockerignore()
      .add((await readFile('.dockerignore', 'utf8')).split('\n'))
      .createFilter();
    const tracked = (await promisify(execFile)('git', ['ls-files'], { maxBuffer: 16 * 1024 * 1024 })).stdout
      .split('\n')
      .filter(Boolean);
    const sources = copySources(await readFile('Dockerfile', 'utf8'));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'src', 'packages/client/package.json']));
    for (const source of sources) {
      const files = tracked.filter((file) => file === source || file.startsWith(`${source}/`));
      expect({ source, files: files.length > 0 }).toEqual({ source, files: true });
      expect({ source, excluded: files.filter((file) => !included(file)) }).toEqual({ source, excluded: [] });
    }
    for (const kept of ['node_modules/graphql/package.json', 'dist/cli.js', '.env', 'test/unit/x.test.ts'])
      expect({ kept, included: included(kept) }).toEqual({ kept, included: false });
  });
});
