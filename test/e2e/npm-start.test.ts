import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** `npm start` as a user runs it on a fresh machine: no configuration, the emulators in-process. */
describe('fleetgraph serve (npm start) in embedded mode', () => {
  let child: ChildProcessWithoutNullStreams;
  let output = '';

  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'serve'], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', FLEET_SIZE: '200' },
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('WARNING') && resolve());
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
    });
  }, 60_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the graph URL, the Sandbox hint, the emulator URLs and the auth warning', () => {
    expect(output).toMatch(/Fleetgraph \(development\) at http:\/\/localhost:\d+\/graphql/);
    expect(output).toContain('Apollo Sandbox');
    expect(output).toMatch(/KDMS\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain('caller authentication is off');
  });

  it('answers the fleet page and serves the Sandbox landing page', async () => {
    const url = /at (http:\/\/localhost:\d+\/graphql)/.exec(output)![1]!;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          '{ devices(first: 100) { edges { node { id management { status } access { name } apps { name } } } } }',
      }),
    });
    const body = (await res.json()) as { data: { devices: { edges: unknown[] } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data.devices.edges).toHaveLength(100);
    const landing = await fetch(url, { headers: { accept: 'text/html' } });
    expect(await landing.text()).toContain('sandbox');
  });

  it('shuts down on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
