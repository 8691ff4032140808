import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse } from 'graphql';
import type { ObjectTypeDefinitionNode } from 'graphql';
import { demandControlCost } from '../../src/server/query-cost.js';
import { withFederationDirectives } from '../../src/schema/federation-directives.js';

/**
 * Costs as a router's demand control works them out from `@cost`/`@listSize` (the figures below are the
 * ones arithmetic Hive Gateway 2.15's demand control applies), and the directives as Fleetgraph
 * derives them from its code.
 */
const sdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes", "@cost", "@listSize"])
  type Query {
    devices(first: Int! = 50): DeviceConnection!
    device(imei: String!): Device
    me: String
  }
  type Mutation { rename(imei: String!): Device }
  type DeviceConnection { edges: [DeviceEdge!]! pageInfo: PageInfo! totalCount: Int }
  type DeviceEdge { cursor: String! node: Device! }
  type PageInfo { hasNextPage: Boolean! }
  type Device @key(fields: "imei") { imei: String! apps: [App!] users: [String!] }
  type App { name: String }
`;
const scopes = new Map<string, readonly string[]>([
  ['Query.devices', ['devices:read']],
  ['Query.device', ['devices:read', 'devices:write']],
  ['Query.me', []],
]);
const typeDefs = withFederationDirectives(parse(sdl), scopes, new Map([['Device', ['devices:read']]]));
const schema = buildSubgraphSchema({ typeDefs, resolvers: {} });
const cost = (query: string, variables: Record<string, unknown> = {}) =>
  demandControlCost(schema, parse(query), variables);

describe('the federation directives derived from the code', () => {
  const printed = JSON.stringify(typeDefs);
  const typeNamed = (name: string): ObjectTypeDefinitionNode => {
    const found = typeDefs.definitions.find(
      (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === name,
    );
    if (!found) throw new Error(`no type ${name}`);
    return found;
  };
  const fieldDirectives = (type: string, field: string): string[] =>
    ((typeNamed(type).fields ?? []).find((f) => f.name.value === field)?.directives ?? []).map(
      (d) => d.name.value,
    );

  it('mirror each field’s scopes: any one of them, or just a caller', () => {
    expect(fieldDirectives('Query', 'devices')).toEqual(['requiresScopes', 'listSize']);
    expect(fieldDirectives('Query', 'device')).toEqual(['requiresScopes']);
    expect(fieldDirectives('Query', 'me')).toEqual(['authenticated']);
    expect(printed).toContain('"devices:write"');
  });

  it('put the scope an entity reference needs on the entity type', () => {
    expect((typeNamed('Device').directives ?? []).map((d) => d.name.value)).toEqual([
      'key',
      'requiresScopes',
    ]);
  });

  it('size connections by first, unpaged lists by an assumed size, and weigh per-device upstream reads', () => {
    expect(fieldDirectives('Device', 'apps')).toEqual(['cost', 'listSize']);
    expect(fieldDirectives('DeviceConnection', 'edges')).toEqual([]); // sized by devices(first)
    expect(fieldDirectives('Device', 'imei')).toEqual([]);
  });
});

describe('demand-control cost', () => {
  it('counts objects, not scalars, and multiplies a connection’s edges by first', () => {
    // the connection 1, then first × (edge 1 + node 1); scalars are free
    expect(cost('{ devices(first: 3) { edges { node { imei } } } }')).toBe(1 + 3 * 2);
    expect(cost('{ device(imei: "1") { imei } }')).toBe(1);
  });

  it('multiplies only the sized edges: pageInfo and totalCount count once, also through fragments', () => {
    // the connection 1 + 3 × (edge 1 + node 1) + pageInfo 1, as Hive Gateway's demand control counts it
    expect(
      cost('{ devices(first: 3) { totalCount pageInfo { hasNextPage } edges { node { imei } } } }'),
    ).toBe(1 + 3 * 2 + 1);
    expect(
      cost(`{ devices(first: 3) { ...Page } }
        fragment Page on DeviceConnection { pageInfo { hasNextPage } ... on DeviceConnection { edges { node { imei } } } }`),
    ).toBe(1 + 3 * 2 + 1);
    // the same fragment spread twice is counted twice, and both times multiplied
    expect(
      cost(`{ devices(first: 3) { ...Edges ...Edges } }
        fragment Edges on DeviceConnection { edges { cursor } }`),
    ).toBe(1 + 3 * 2);
    // a skipped edges costs nothing, an included one its full share
    const skippable = 'query ($skip: Boolean!) { devices(first: 3) { edges @skip(if: $skip) { cursor } } }';
    expect(cost(skippable, { skip: true })).toBe(1);
    expect(cost(skippable, { skip: false })).toBe(1 + 3 * 1);
  });

  it('takes first from variables and from its default', () => {
    const page = 'query Page($n: Int!) { devices(first: $n) { totalCount } }';
    expect(cost(page, { n: 7 })).toBe(1);
    expect(cost('{ devices { edges { cursor } } }')).toBe(1 + 50 * 1);
  });

  it('weighs the reads Box makes per device', () => {
    // device 1 + apps: weight 2 × its assumed 10
    expect(cost('{ device(imei: "1") { apps { name } } }')).toBe(1 + 10 * 2);
  });

  it('adds a router’s 10 for a mutation', () => {
    expect(cost('mutation { rename(imei: "1") { imei } }')).toBe(10 + 1);
  });

  it('counts _entities per representation', () => {
    const representations = Array.from({ length: 4 }, (_, i) => ({ __typename: 'Device', imei: String(i) }));
    expect(
      cost('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { apps { name } } } }', {
        r: representations,
      }),
    ).toBe(4 * (10 * 2));
  });
});
