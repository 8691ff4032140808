import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshImeis } from '../helpers/emulator-targets.js';
import { startTestGraph } from '../helpers/graph.js';
import type { TestGraph } from '../helpers/graph.js';

/**
 * @fleetgraph/client as a frontend gets it: `npm pack` of the workspace package (its prepack builds dist/),
 * the tarball installed into an empty project, packages/client/examples/usage.ts type-checked there against the
 * installed .d.ts files and run against a graph that serves trusted documents only.
 */
const REPO = process.cwd();
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

function run(command: string, args: string[], cwd: string): Promise<string> {
  // An operator's shell: without jest's NODE_OPTIONS and the npm_* variables `npm test` sets (a prefix among
  // them would point the nested install at the repository).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !/^npm_/i.test(name)),
  );
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('the packed @fleetgraph/client in an empty project', () => {
  let project: string;
  let graph: TestGraph;

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'fleetgraph-client-consumer-'));
    await run('npm', ['pack', '-w', 'packages/client', '--pack-destination', project], REPO);
    const tarball = (await readdir(project)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // --prefer-offline: the client's dependencies are in npm's cache from the repo's own install.
    await run('npm', ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund'], project);
    await copyFile(join(REPO, 'packages/client/examples/usage.ts'), join(project, 'usage.ts'));
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          // The consumer's own check of the package's .d.ts files, not skipped.
          skipLibCheck: false,
          typeRoots: [join(REPO, 'node_modules/@types')],
          types: ['node'],
          outDir: 'out',
        },
        files: ['usage.ts'],
      }),
    );
    // Only the trusted documents run: the client's operations must all be in the manifest.
    graph = await startTestGraph({ env: { PERSISTED_DOCUMENTS: 'require' } });
  }, 180_000);
  afterAll(async () => {
    await graph?.stop();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('installs with its types: the typed usage compiles, and a wrong variable type does not', async () => {
    // usage.ts carries a @ts-expect-error on a wrong `first`: an unused one would fail this compile too.
    await expect(run(process.execPath, [TSC, '-p', 'tsconfig.json'], project)).resolves.toBeDefined();
  }, 120_000);

  it('runs its typed fleet-page call and the uploadJobChanged subscription against the graph', async () => {
    // The graph runs trusted documents only, so the job is started with the client package's own mutation.
    const manifest = JSON.parse(
      await readFile(join(REPO, 'packages/client/src/generated/persisted-documents.json'), 'utf8'),
    ) as Record<string, string>;
    const upload = Object.values(manifest).find((d) => d.includes('mutation UploadDevices('));
    const { body } = await graph.post(upload!, { input: { imeis: freshImeis(1) } });
    const jobId = (body.data?.uploadDevices as { id: string }).id;
    const stdout = await run(process.execPath, ['out/usage.js', graph.url, jobId], project);
    const [fleetPage, jobChanges] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(fleetPage).toMatchObject({ kind: 'fleetPage', status: 200, errors: 0 });
    expect(fleetPage!.rows).toHaveLength(5);
    expect(jobChanges).toMatchObject({ kind: 'uploadJobChanged' });
    const statuses = jobChanges!.statuses as string[];
    expect(statuses.at(-1)).toBe('COMPLETED');
  }, 60_000);
});
