import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';

/**
 * Composes the subgraphs a rover `supergraph.yaml` lists (schemas from files) into a supergraph SDL with
 * @apollo/composition, the library rover's own composition runs. `npm run supergraph:compose` writes
 * supergraph.graphql; `npm run supergraph` composes in memory with the routing URLs it started.
 */
export interface SupergraphConfig {
  federation_version?: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export const SUPERGRAPH_CONFIG = 'supergraph.yaml';
export const SUPERGRAPH_SDL = 'supergraph.graphql';

export async function readSupergraphConfig(file = SUPERGRAPH_CONFIG): Promise<SupergraphConfig> {
  const config = parseYaml(await readFile(file, 'utf8')) as SupergraphConfig;
  const names = Object.keys(config?.subgraphs ?? {});
  if (names.length === 0) throw new Error(`${file} lists no subgraphs`);
  for (const name of names) {
    const subgraph = config.subgraphs[name]!;
    if (typeof subgraph.routing_url !== 'string' || typeof subgraph.schema?.file !== 'string')
      throw new Error(
        `${file}: subgraph "${name}" needs routing_url and schema.file (other schema sources are rover's)`,
      );
    // Schema files are relative to the config file, as rover reads them.
    subgraph.schema.file = resolve(dirname(file), subgraph.schema.file);
  }
  return config;
}

/** The supergraph SDL, or an error listing every composition problem. */
export async function composeSupergraph(
  config: SupergraphConfig,
  routingUrls: Record<string, string> = {},
): Promise<string> {
  const services = await Promise.all(
    Object.entries(config.subgraphs).map(async ([name, subgraph]) => ({
      name,
      url: routingUrls[name] ?? subgraph.routing_url,
      typeDefs: parse(await readFile(subgraph.schema.file, 'utf8')),
    })),
  );
  const result = composeServices(services);
  if (result.errors)
    throw new Error(`Composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  return result.supergraphSdl;
}

/**
 * The supergraph for @apollo/gateway, which implements no directive auth and therefore refuses a
 * supergraph whose `@link`s mark `@requiresScopes`/`@authenticated` as `for: SECURITY` (a router must
 * enforce those or not start). Fleetgraph checks every scope itself, so behind the Node gateway the
 * directives stay as information: the marks are dropped, nothing else. Routers that enforce them (Hive
 * Gateway, Apollo Router) take the supergraph as composed.
 */
export function forApolloGateway(supergraphSdl: string): string {
  return supergraphSdl.replace(/, for: SECURITY\)/g, ')');
}

async function main(): Promise<void> {
  const sdl = await composeSupergraph(await readSupergraphConfig());
  await writeFile(SUPERGRAPH_SDL, sdl.endsWith('\n') ? sdl : `${sdl}\n`);
  console.log(`wrote ${SUPERGRAPH_SDL} (${sdl.length} characters) from ${SUPERGRAPH_CONFIG}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
