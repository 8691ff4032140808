import { spawn } from 'node:child_process';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { emulatorEnv } from '../../../src/server/embedded-upstreams.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { eventually } from '../../helpers/wait.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';

/**
 * A Redis that requires a password (`requirepass`) and a CACHE_URL without it, or with a wrong one:
 * start-up says so in one line, without a stack trace or the password, and /readyz says so when Redis
 * starts refusing a running replica.
 */
const REFUSED = 'Redis refused the password (check CACHE_URL)';
const SECRET = 'right-horse-battery';

let redis: LocalRedis;
let emulators: RunningEmulators;

beforeAll(async () => {
  redis = await startLocalRedis({ password: SECRET });
  emulators = await startTestEmulators({ fleet: { size: 10, seed: 'auth' } });
});
afterAll(async () => {
  await emulators?.stop();
  await redis?.stop();
});

/** `npm start` as a user runs it, to its exit: everything it printed, and its exit code. */
async function serve(cacheUrl: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'serve'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        ...emulatorEnv(emulators.urls),
        // Never called: start-up ends at the store.
        WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
        CACHE_URL: cacheUrl,
      },
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

describe('Redis refuses the password at start', () => {
  it.each([
    ['no password', () => redis.url],
    ['a wrong password', () => `redis://:hunter2@127.0.0.1:${redis.port}`],
  ])('with %s, start-up fails saying so, without a stack trace or the password', async (_, url) => {
    const { code, output } = await serve(url());
    expect(code).toBe(1);
    expect(output).toContain(REFUSED);
    expect(output).toContain(`redis://127.0.0.1:${redis.port}`);
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('hunter2');
    expect(output).not.toContain('within');
  });

  it('in-process, the same: a ConfigError naming CACHE_URL', async () => {
    await expect(
      startTestGraph({
        sharedEmulators: emulators,
        env: { CACHE_URL: `redis://:hunter2@127.0.0.1:${redis.port}` },
      }),
    ).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringContaining(REFUSED) });
  });
});

describe('Redis starts refusing a running replica', () => {
  let graph: TestGraph;
  let open: LocalRedis;

  beforeAll(async () => {
    open = await startLocalRedis();
    graph = await startTestGraph({ sharedEmulators: emulators, env: { CACHE_URL: open.url } });
  });
  afterAll(async () => {
    await graph?.stop();
    await open?.stop();
  });

  it('/readyz says the store is DOWN because the password was refused; jobs answer STORE_UNAVAILABLE', async () => {
    const readyz = async () => {
      const response = await fetch(graph.url.replace('/graphql', '/readyz'));
      return { status: response.status, body: (await response.json()) as { store: Record<string, unknown> } };
    };
    expect((await readyz()).body.store.status).toBe('UP');
    // Redis now wants a password, and its clients reconnect: every command is answered NOAUTH.
    await open.cli('CONFIG', 'SET', 'requirepass', SECRET);
    await open.cli('-a', SECRET, '--no-auth-warning', 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // Killed, the connection reads "not connected; reconnecting" until its reconnect is answered: the
    // state this test is about is the one after that answer.
    const down = await eventually(async () => {
      const ready = await readyz();
      const reconnecting = ready.body.store.error === 'not connected; reconnecting';
      return ready.body.store.status === 'DOWN' && !reconnecting ? ready : undefined;
    }, '/readyz noticing the refusal');
    expect(down.status).toBe(503);
    expect(down.body.store).toEqual({ backend: 'redis', target: open.url, status: 'DOWN', error: REFUSED });

    const { body } = await graph.post('query { uploadJob(id: "x") { id } }');
    expect(body.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');
  });
});
