import { readFile } from 'node:fs/promises';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { filterSchema, getDirective, pruneSchema } from '@graphql-tools/utils';
import { isObjectType, parse, validateSchema } from 'graphql';
import type { GraphQLSchema } from 'graphql';

/**
 * `@tag(name: "internal")` marks what only operators and services use. A router's contract variant that
 * excludes it (Apollo's contracts, Hive's) must still be a whole graph for frontends: this builds that
 * variant the way contracts do (drop tagged elements, then types nothing reaches) from the committed SDL.
 */
let subgraph: GraphQLSchema;
beforeAll(async () => {
  subgraph = buildSubgraphSchema({ typeDefs: parse(await readFile('schema/schema.graphql', 'utf8')) });
});

const tagsOf = (schema: GraphQLSchema, element: Parameters<typeof getDirective>[1]): string[] =>
  (getDirective(schema, element, 'tag') ?? []).map((tag) => String(tag.name));

function withoutTag(schema: GraphQLSchema, tag: string): GraphQLSchema {
  const tagged = (element: Parameters<typeof getDirective>[1]) => tagsOf(schema, element).includes(tag);
  return pruneSchema(
    filterSchema({
      schema,
      typeFilter: (name) => !tagged(schema.getType(name)!),
      rootFieldFilter: (operation, name) => {
        const root = operation === 'Query' ? schema.getQueryType() : schema.getMutationType();
        const field = operation === 'Subscription' ? undefined : root?.getFields()[name];
        return !field || !tagged(field);
      },
      objectFieldFilter: (typeName, name) => {
        const type = schema.getType(typeName);
        return !(isObjectType(type) && tagged(type.getFields()[name]!));
      },
    }),
  );
}

describe('the internal contract tag', () => {
  it('marks API health and password checks, and nothing a frontend reads', () => {
    const query = subgraph.getQueryType()!.getFields();
    const mutation = subgraph.getMutationType()!.getFields();
    expect(tagsOf(subgraph, query.upstreams!)).toEqual(['internal']);
    expect(tagsOf(subgraph, mutation.authenticateUser!)).toEqual(['internal']);
    for (const type of ['UpstreamHealth', 'UpstreamSync', 'AuthenticationResult'])
      expect(tagsOf(subgraph, subgraph.getType(type)!)).toEqual(['internal']);
    for (const field of ['devices', 'device', 'node', 'users', 'uploadJobs'])
      expect(tagsOf(subgraph, query[field]!)).toEqual([]);
  });

  it('leaves a valid graph without them: every frontend field kept, the internal types gone', () => {
    const contract = withoutTag(subgraph, 'internal');
    expect(validateSchema(contract)).toEqual([]);
    const query = Object.keys(contract.getQueryType()!.getFields());
    expect(query).not.toContain('upstreams');
    expect(query).toEqual(
      Object.keys(subgraph.getQueryType()!.getFields()).filter((name) => name !== 'upstreams'),
    );
    expect(Object.keys(contract.getMutationType()!.getFields())).toEqual([
      'updateDeviceAccess',
      'uploadDevices',
      'deleteDevices',
    ]);
    for (const gone of ['UpstreamHealth', 'UpstreamSync', 'UpstreamStatus', 'AuthenticationResult'])
      expect(contract.getType(gone)).toBeUndefined();
    expect(contract.getType('Device')).toBeDefined();
  });
});
