import 'reflect-metadata';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { startStandaloneServer } from '@apollo/server/standalone';
import { redactRedisUrl } from '../../src/cache/redis-connection.js';
import { emulatorEnv, startEmbeddedEmulators } from '../../src/server/embedded-upstreams.js';
import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { startHelpdeskSubgraph } from '../helpdesk/helpdesk-subgraph.js';
import type { RunningHelpdesk } from '../helpdesk/helpdesk-subgraph.js';
import { composeSupergraph, forApolloGateway, readSupergraphConfig } from './compose-supergraph.js';
import { startLocalRedis } from './local-redis.js';
import { startLocalPostgres } from './local-postgres.js';
import type { LocalPostgres } from './local-postgres.js';
import type { LocalRedis } from './local-redis.js';
import { startRoundRobinProxy } from './round-robin-proxy.js';
import type { RoundRobinProxy } from './round-robin-proxy.js';

/**
 * `npm run supergraph`: the whole scale-out picture on one machine. The three emulators; a Redis
 * (CACHE_URL, or a redis-server started here) and one PostgreSQL for their shared fleet index
 * (FLEET_INDEX_DATABASE_URL, or a cluster started here); Fleetgraph replicas as separate processes on that Redis;
 * a round-robin load balancer in front of them (also where Knox's callbacks go); the helpdesk example
 * subgraph; and @apollo/gateway with the supergraph composed from supergraph.yaml.
 *
 *   npm run supergraph -- [--port 4000] [--replicas 2]
 */
interface Replica {
  child: ChildProcess;
  url: string;
}

const prefixLines = (prefix: string, chunk: Buffer): string =>
  chunk
    .toString()
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => `${prefix} ${line}\n`)
    .join('');

/** One Fleetgraph process, as `npm start` runs it with real upstream URLs; resolves once it listens. */
function startReplica(n: number, env: Record<string, string>): Promise<Replica> {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'serve'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const prefix = `[replica-${n}]`;
  let output = '';
  return new Promise((resolve, reject) => {
    // The banner for people (stderr) names the URL, as does the JSON "listening" line (stdout, at info).
    const started = (chunk: Buffer) => {
      output += chunk.toString();
      const url =
        /Fleetgraph .*at (http:\/\/\S+\/graphql)/.exec(output)?.[1] ??
        /"url":"(http:\/\/[^"]+\/graphql)"[^\n]*"msg":"listening"/.exec(output)?.[1];
      if (!url) return;
      child.stdout!.off('data', started);
      child.stderr!.off('data', started);
      resolve({ child, url });
    };
    child.stdout!.on('data', started);
    child.stderr!.on('data', started);
    child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(prefixLines(prefix, chunk)));
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(prefixLines(prefix, chunk)));
    child.once('exit', (code) =>
      reject(new Error(`${prefix} exited (${code}) before it listened:\n${output}`)),
    );
  });
}

async function stopReplica({ child }: Replica): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '4000' }, replicas: { type: 'string', default: '2' } },
  });
  const gatewayPort = Number(values.port);
  const replicaCount = Number(values.replicas);
  if (!Number.isInteger(gatewayPort) || gatewayPort < 0 || gatewayPort > 65535)
    throw new Error(`--port must be a port number, got "${values.port}"`);
  if (!Number.isInteger(replicaCount) || replicaCount < 1 || replicaCount > 8)
    throw new Error(`--replicas must be from 1 to 8, got "${values.replicas}"`);

  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    let redis: LocalRedis | null = null;
    const cacheUrl = process.env.CACHE_URL ?? (redis = await startLocalRedis()).url;
    if (redis) stops.push(() => redis!.stop());

    // One fleet index the replicas share (one syncs, all read); without PostgreSQL each keeps its own.
    let postgres: LocalPostgres | null = null;
    const indexUrl =
      process.env.FLEET_INDEX_DATABASE_URL ??
      (await startLocalPostgres().then(
        (started) => (postgres = started).url,
        (error: unknown) => {
          console.warn(`no shared fleet index: ${error instanceof Error ? error.message : String(error)}`);
          return null;
        },
      ));
    if (postgres) stops.push(() => postgres!.stop());

    const emulators: RunningEmulators = await startEmbeddedEmulators({});
    stops.push(() => emulators.stop());

    const balancer: RoundRobinProxy = await startRoundRobinProxy();
    stops.push(() => balancer.stop());

    const env = {
      ...emulatorEnv(emulators.urls),
      CACHE_URL: cacheUrl,
      ...(indexUrl ? { FLEET_INDEX_DATABASE_URL: indexUrl } : {}),
      PORT: '0',
      HOST: '127.0.0.1',
      // Knox calls the load balancer, which passes each callback to one replica.
      WEBHOOK_PUBLIC_URL: `${balancer.url}/webhooks/knox`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    };
    const replicas = await Promise.all(
      Array.from({ length: replicaCount }, (_, i) => startReplica(i + 1, env)),
    );
    stops.push(() => Promise.all(replicas.map(stopReplica)));
    balancer.setTargets(replicas.map((r) => r.url.replace('/graphql', '')));

    const ticketed = emulators.fleet.devices.filter((d) => d.imei && d.kdms && d.knoxManage).slice(0, 3);
    const helpdesk: RunningHelpdesk = await startHelpdeskSubgraph([
      { id: 'T-1', title: 'Screen cracked', imei: ticketed[0]!.imei! },
      { id: 'T-2', title: 'Battery drains overnight', imei: ticketed[1]!.imei! },
      { id: 'T-3', title: 'Cannot enrol after reset', imei: ticketed[2]!.imei! },
    ]);
    stops.push(() => helpdesk.stop());

    const supergraphSdl = await composeSupergraph(await readSupergraphConfig(), {
      fleetgraph: `${balancer.url}/graphql`,
      helpdesk: helpdesk.url,
    });
    const gateway = new ApolloServer({
      gateway: new ApolloGateway({ supergraphSdl: forApolloGateway(supergraphSdl) }),
      introspection: true,
      // This script stops everything in order on a signal; Apollo must not exit the process first.
      stopOnTerminationSignals: false,
      plugins: [ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })],
    });
    const { url } = await startStandaloneServer(gateway, { listen: { port: gatewayPort } });
    stops.push(() => gateway.stop());

    console.log(`Supergraph (@apollo/gateway) at ${url}   open it in a browser for Apollo Sandbox

  fleetgraph   ${replicaCount} replicas behind ${balancer.url}/graphql (round robin; Knox callbacks too)
${replicas.map((r, i) => `    replica-${i + 1}  ${r.url}`).join('\n')}
  helpdesk     ${helpdesk.url}   (the example second subgraph: Device.tickets by IMEI)
  Redis        ${redactRedisUrl(cacheUrl)}   (CACHE_URL: tokens, read cache, upload jobs, job events)
  fleet index  ${indexUrl ? `${new URL(indexUrl).host} (FLEET_INDEX_DATABASE_URL: one index, one sync for all replicas)` : 'one SQLite index per replica'}
  emulators    KDMS ${emulators.urls.kdms}  Knox Manage ${emulators.urls.knoxManage}  Box ${emulators.urls.box}

A query that crosses both subgraphs:
  curl -s ${url} -H 'content-type: application/json' \\
    -d '{"query":"{ tickets { id title device { imei management { status owner { name } } access { name } } } }"}'

Ctrl+C stops everything.`);

    const onSignal = (signal: NodeJS.Signals) => {
      console.log(`\n${signal}: stopping the gateway, subgraphs, replicas, emulators and Redis`);
      void stopAll().then(() => process.exit(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
