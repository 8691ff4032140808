import { startTsProcess } from '../helpers/ts-process.js';
import type { TsProcess } from '../helpers/ts-process.js';

/** `npm start` as a user runs it on a fresh machine: no configuration, the emulators in-process. */
describe('fleetgraph serve (npm start) in embedded mode', () => {
  let serve: TsProcess;
  let output = '';

  beforeAll(async () => {
    serve = await startTsProcess('src/cli.ts', ['serve'], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', FLEET_SIZE: '200' },
      readyWhen: 'WARNING',
    });
    output = serve.output;
  }, 60_000);

  afterAll(() => serve?.kill());

  it('prints the graph URL, the Sandbox hint, the emulator URLs and the auth warning', () => {
    expect(output).toMatch(/Fleetgraph \(development\) at http:\/\/localhost:\d+\/graphql/);
    expect(output).toContain('Apollo Sandbox');
    expect(output).toMatch(/KDMS\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain('caller authentication is off');
  });

  it('answers the fleet page and serves the Sandbox landing page', async () => {
    const url = serve.find(/at (http:\/\/localhost:\d+\/graphql)/);
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
    expect(await serve.terminate()).toBe(0);
  });
});
