import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshImeis } from '../helpers/emulator-targets.js';

/**
 * @fleetgraph/client as a frontend gets it: `npm pack` of the workspace package (its prepack builds dist/),
 * the tarball installed into an empty project, packages/client/examples/usage.ts type-checked there against the
 * installed .d.ts files and run against `npm start` (the embedded emulators) serving trusted documents only.
 */
const REPO = process.cwd();
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

/**
 * An operator's shell: without jest's NODE_OPTIONS and NODE_ENV and the npm_* variables `npm test` sets (a
 * prefix among them would point a nested install at the repository).
 */
const shellEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== 'NODE_OPTIONS' && name !== 'NODE_ENV' && !/^npm_/i.test(name),
    ),
  );

function run(command: string, args: string[], cwd: string): Promise<string> {
  const env = shellEnv();
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `npm start` in the repository, as the README's quickstart runs it; resolves with the URL it prints. */
function npmStart(env: Record<string, string>): { server: ChildProcess; url: Promise<string> } {
  // Its own process group: `npm` runs the server through a shell, and all of them stop together.
  const server = spawn('npm', ['start'], { cwd: REPO, env: { ...shellEnv(), ...env }, detached: true });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(output);
      if (listening) resolve(listening[1]!);
    });
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before listening:\n${output}`)),
    );
  });
  return { server, url };
}

describe('the packed @fleetgraph/client in an empty project', () => {
  let project: string;
  let stateDir: string;
  let server: ChildProcess | undefined;
  let graphUrl: string;

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
    // Only the trusted documents run: the client's operations must all be in the manifest. A free port, and
    // the job store in a temporary folder rather than the checkout's .fleetgraph/.
    stateDir = await mkdtemp(join(tmpdir(), 'fleetgraph-client-npm-start-'));
    const started = npmStart({
      PORT: '0',
      PERSISTED_DOCUMENTS: 'require',
      JOB_STORE_FILE: join(stateDir, 'jobs.sqlite'),
      KDMS_ASYNC_DELAY_MS: '300',
    });
    server = started.server;
    graphUrl = await started.url;
  }, 180_000);
  afterAll(async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      process.kill(-server.pid, 'SIGTERM');
      // It drains and exits 0 on SIGTERM; a server that hangs is killed rather than outliving jest.
      const hung = setTimeout(() => process.kill(-server!.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(hung);
    }
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (project) await rm(project, { recursive: true, force: true });
  }, 30_000);

  it('installs with its types: the typed usage compiles, and a wrong variable type does not', async () => {
    // usage.ts carries a @ts-expect-error on a wrong `first`: an unused one would fail this compile too.
    await expect(run(process.execPath, [TSC, '-p', 'tsconfig.json'], project)).resolves.toBeDefined();
  }, 120_000);

  it('runs its typed fleet-page call and the uploadJobChanged subscription against npm start', async () => {
    // The graph runs trusted documents only, so the job is started with the client package's own mutation.
    const manifest = JSON.parse(
      await readFile(join(REPO, 'packages/client/src/generated/persisted-documents.json'), 'utf8'),
    ) as Record<string, string>;
    const upload = Object.values(manifest).find((d) => d.includes('mutation UploadDevices('));
    const response = await fetch(graphUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: upload, variables: { input: { imeis: freshImeis(1) } } }),
    });
    const { data } = (await response.json()) as { data?: { uploadDevices?: { id: string } } };
    const jobId = data!.uploadDevices!.id;
    const stdout = await run(process.execPath, ['out/usage.js', graphUrl, jobId], project);
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
