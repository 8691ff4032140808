import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig } from './config/config.js';
import { DEV_CREDENTIALS } from './emulators/dev-credentials.js';
import type { EmulatorName } from './emulators/start-emulators.js';
import { emulatorEnv } from './server/embedded-upstreams.js';

/**
 * `fleetgraph <command>`:
 *   serve          the graph (npm start); with no upstream URLs set, the emulators in-process too
 *   emulate        start the KDMS, Knox Manage and Box emulators (npm run emulators)
 *   print-schema   write the subgraph SDL to schema/schema.graphql (npm run schema:print)
 *   token          sign a caller JWT with AUTH_JWT_SECRET (npm run token)
 */

const USAGE = `Usage: fleetgraph serve
       fleetgraph token [--scope "devices:read devices:upload"] [--subject S] [--expires 12h]
       fleetgraph print-schema [FILE]
       fleetgraph emulate [--host H] [--allowed-host NAME]... [--kdms-port N] [--knox-manage-port N]
                         [--box-port N] [--fleet-size N] [--fleet-seed S] [--kdms-async-delay-ms N]

Environment (flags win): EMULATOR_HOST, EMULATOR_ALLOWED_HOSTS (comma-separated), KDMS_EMULATOR_PORT,
KNOX_MANAGE_EMULATOR_PORT, BOX_EMULATOR_PORT, FLEET_SIZE, FLEET_SEED, KDMS_ASYNC_DELAY_MS. Port 0 picks
a free port. The emulators answer only Host headers naming an IP address, localhost, --host or an
--allowed-host name (DNS rebinding), and refuse cross-site or non-JSON requests to /_emulator/*.`;

/**
 * Ctrl+C or SIGTERM stops `stop`'s servers in order, then exits 0 (1 when stopping failed). The notice
 * goes to stderr: a server's stdout carries JSON log lines only.
 */
function stopOnSignals(what: string, stop: () => Promise<void>): void {
  const shutdown = (signal: string): void => {
    console.error(`\n${signal}: ${what}`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** A command called the wrong way: its usage, exit code 2, no stack trace. */
class UsageError extends Error {}

function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0, got "${raw}"`);
  return n;
}

async function emulate(argv: string[]): Promise<void> {
  // Loaded only by this command and embedded mode: `serve` with real upstreams never holds them.
  const { DEFAULT_EMULATOR_PORTS, startEmulators } = await import('./emulators/start-emulators.js');
  const { SEEDED_USER_PASSWORD } = await import('./emulators/fleet/seeded-fleet.js');
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'kdms-port': { type: 'string' },
      'knox-manage-port': { type: 'string' },
      'box-port': { type: 'string' },
      'fleet-size': { type: 'string' },
      'fleet-seed': { type: 'string' },
      'kdms-async-delay-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = process.env;
  const ports: Record<EmulatorName, number> = {
    kdms: wholeNumber(
      'KDMS_EMULATOR_PORT',
      values['kdms-port'] ?? env.KDMS_EMULATOR_PORT,
      DEFAULT_EMULATOR_PORTS.kdms,
    ),
    knoxManage: wholeNumber(
      'KNOX_MANAGE_EMULATOR_PORT',
      values['knox-manage-port'] ?? env.KNOX_MANAGE_EMULATOR_PORT,
      DEFAULT_EMULATOR_PORTS.knoxManage,
    ),
    box: wholeNumber(
      'BOX_EMULATOR_PORT',
      values['box-port'] ?? env.BOX_EMULATOR_PORT,
      DEFAULT_EMULATOR_PORTS.box,
    ),
  };
  const size = wholeNumber('FLEET_SIZE', values['fleet-size'] ?? env.FLEET_SIZE, 1000);
  const asyncDelayMs = wholeNumber(
    'KDMS_ASYNC_DELAY_MS',
    values['kdms-async-delay-ms'] ?? env.KDMS_ASYNC_DELAY_MS,
    2000,
  );
  const emulators = await startEmulators({
    host: values.host ?? env.EMULATOR_HOST ?? '127.0.0.1',
    allowedHosts:
      values['allowed-host'] ??
      (env.EMULATOR_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ports,
    fleet: { size, seed: values['fleet-seed'] ?? env.FLEET_SEED ?? 'fleetgraph' },
    kdms: { async: { asyncDelayMs } },
  });
  const { fleet, urls } = emulators;
  const counts = {
    kdms: fleet.devices.filter((d) => d.kdms).length,
    knoxManage: fleet.devices.filter((d) => d.knoxManage).length,
    box: fleet.devices.filter((d) => d.box).length,
  };
  console.log(`Fleetgraph emulators: ${fleet.devices.length} devices, ${fleet.users.length} users, seed "${fleet.seed}"

  KDMS         ${urls.kdms}
    token      POST ${urls.kdms}/ams/v1/oauth2/token   client ${DEV_CREDENTIALS.kdms.clientId} / ${DEV_CREDENTIALS.kdms.clientSecret}
    API        ${urls.kdms}/kdms/v1   (${counts.kdms} devices; uploads settle after ${asyncDelayMs} ms)
  Knox Manage  ${urls.knoxManage}
    token      POST ${urls.knoxManage}/emm/oauth/token   client ${DEV_CREDENTIALS.knoxManage.clientId} / ${DEV_CREDENTIALS.knoxManage.clientSecret}
    API        ${urls.knoxManage}/emm/oapi   (${counts.knoxManage} devices; users sign in with ${SEEDED_USER_PASSWORD})
  Box          ${urls.box}
    API        ${urls.box}/box/srv/1.1/admin   (${counts.box} devices; header X-FH-AUTH-USER: ${DEV_CREDENTIALS.box.apiKey})

Each serves GET /openapi.json, GET /_emulator/requests and PUT /_emulator/faults. Ctrl+C stops them.

To point Fleetgraph at them as real upstreams (e.g. several replicas, see README):
${Object.entries(emulatorEnv(urls))
  .map(([name, value]) => `  export ${name}=${value}`)
  .join('\n')}`);

  stopOnSignals('stopping the emulators', () => emulators.stop());
}

async function serve(): Promise<void> {
  const { startFleetgraph } = await import('./server/start-fleetgraph.js');
  const config = loadConfig();
  // V8 otherwise lets the heap grow up to four-fold past what survived a full collection: at c = 50 that
  // is garbage of requests long answered, held as RSS (bench/README.md, "Memory"). This flag is read at
  // every collection, so it takes effect set here (the heap-size flags do not).
  if (config.heapGrowthPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  const { createLogger } = await import('./observability/logger.js');
  const logger = createLogger({ level: config.logLevel });
  const running = await startFleetgraph({ config, logger });
  const admin = running.server.adminServer?.address();
  logger.info(
    {
      url: running.url,
      ...(admin && typeof admin === 'object' ? { adminPort: admin.port } : {}),
      mode: running.emulators ? 'embedded' : 'upstreams',
      nodeEnv: config.nodeEnv,
      heapGrowthPercent: config.heapGrowthPercent,
    },
    'listening',
  );
  const lines = [`Fleetgraph ${config.nodeEnv === 'production' ? '' : '(development) '}at ${running.url}`];
  if (config.explorer !== 'off')
    lines.push(
      `  ${{ auto: 'Apollo Sandbox (or, offline, GraphiQL)', sandbox: 'Apollo Sandbox', graphiql: 'GraphiQL' }[config.explorer]}: open ${running.url} in a browser`,
    );
  const store = running.server.stores.health();
  lines.push(
    store.backend === 'redis'
      ? `  Shared store: ${store.target} (tokens, read cache, upload jobs and job events; replicas on the same CACHE_URL share them)`
      : `  Store: this process only${config.jobs.storeFile ? ` (upload jobs in ${config.jobs.storeFile})` : ''}; set CACHE_URL=redis://… to run several replicas`,
  );
  if (running.emulators) {
    const { urls, fleet } = running.emulators;
    lines.push(
      '',
      `Embedded mode: no upstream URLs are set, so the emulators run in-process (${fleet.devices.length} seeded devices):`,
      `  KDMS         ${urls.kdms}`,
      `  Knox Manage  ${urls.knoxManage}`,
      `  Box          ${urls.box}`,
      'Set KDMS_URL, KNOX_MANAGE_URL and BOX_URL (see README) to use real APIs instead.',
      '',
    );
    if (store.backend === 'redis')
      lines.push(
        'NOTE: with CACHE_URL every embedded-mode process starts emulators of its own, whose tokens and jobs the others',
        'cannot use. For several replicas, point them all at one `npm run emulators` (README: Running more than one replica).',
      );
  }
  if (!config.auth) {
    lines.push(
      '',
      'WARNING: caller authentication is off (no AUTH_JWT_SECRET or AUTH_JWKS_URL): anyone who can reach this port can read and change the fleet.',
    );
  }
  // For the person at the terminal; stdout stays JSON lines (the "listening" line above says the same).
  console.error(lines.join('\n'));
  stopOnSignals('shutting down', () => running.stop());
}

async function printSchema(file = 'schema/schema.graphql'): Promise<void> {
  const { buildFleetgraphSchema, printFleetgraphSdl } = await import('./schema/build-schema.js');
  const sdl = await printFleetgraphSdl(await buildFleetgraphSchema());
  await writeFile(file, `${sdl.trimEnd()}\n`);
  console.log(`wrote ${file}`);
}

const TOKEN_USAGE = `Usage: fleetgraph token [--scope "devices:read devices:upload"] [--subject S] [--expires 12h]

Signs a caller JWT (HS256) with AUTH_JWT_SECRET, the secret the server verifies tokens with:
  AUTH_JWT_SECRET=… npm run token -- --scope "devices:read"`;

async function token(argv: string[]): Promise<void> {
  let values: { scope?: string; subject?: string; expires?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scope: { type: 'string' },
        subject: { type: 'string' },
        expires: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n\n${TOKEN_USAGE}`);
  }
  if (values.help) {
    console.log(TOKEN_USAGE);
    return;
  }
  const secret = process.env.AUTH_JWT_SECRET;
  if (!secret)
    throw new UsageError(
      `AUTH_JWT_SECRET is not set: the token must be signed with the secret the server verifies.\n\n${TOKEN_USAGE}`,
    );
  const { signCallerToken } = await import('./server/dev-token.js');
  console.log(
    await signCallerToken(secret, {
      ...(values.scope ? { scopes: values.scope.split(/[\s,]+/).filter(Boolean) } : {}),
      ...(values.subject ? { subject: values.subject } : {}),
      ...(values.expires ? { expiresIn: values.expires } : {}),
    }),
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      await token(rest);
      return;
    case 'serve':
      await serve();
      return;
    case 'print-schema':
      await printSchema(rest[0]);
      return;
    case 'emulate':
      await emulate(rest);
      return;
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Settings and usage are said as such; only an unexpected failure shows where it broke.
  console.error(
    error instanceof ConfigError || error instanceof UsageError || !(error instanceof Error)
      ? String(error instanceof Error ? error.message : error)
      : error.stack,
  );
  process.exit(error instanceof UsageError ? 2 : 1);
});
