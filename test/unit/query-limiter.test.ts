import 'reflect-metadata';
import * as graphql from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { loadConfig } from '../../src/config/config.js';
import { buildFleetgraphSchema } from '../../src/schema/build-schema.js';
import { QueryLimitError, QueryLimiter } from '../../src/server/query-limits.js';

/** The limiter remembers documents by source: the same answer as checking afresh, without the work. */
describe('QueryLimiter', () => {
  let schema: GraphQLSchema;
  const limits = { ...loadConfig({}).limits, maxCost: 500 };
  const refusalOf = (run: () => void): QueryLimitError | null => {
    try {
      run();
      return null;
    } catch (error) {
      if (error instanceof QueryLimitError) return error;
      throw error;
    }
  };

  beforeAll(async () => {
    schema = await buildFleetgraphSchema();
  });

  it('refuses a document without variables again, from memory, with the same error', () => {
    const limiter = new QueryLimiter(schema, limits);
    const expensive = '{ devices(first: 1000) { edges { node { imei model } } } }';
    const first = refusalOf(() => limiter.check(expensive, undefined));
    expect(first?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'cost' });
    // The very error object: remembered, not worked out again.
    expect(refusalOf(() => limiter.check(expensive, undefined))).toBe(first);
    const cheap = '{ devices(first: 5) { edges { node { imei } } } }';
    expect(refusalOf(() => limiter.check(cheap, undefined))).toBeNull();
    expect(refusalOf(() => limiter.check(cheap, undefined))).toBeNull();
  });

  it('checks a document with variables against each request’s variables', () => {
    const limiter = new QueryLimiter(schema, limits);
    const paged = 'query Page($n: Int) { devices(first: $n) { edges { node { imei model } } } }';
    expect(refusalOf(() => limiter.check(paged, { n: 10 }))).toBeNull();
    expect(refusalOf(() => limiter.check(paged, { n: 1000 }))?.extensions).toMatchObject({ limit: 'cost' });
    expect(refusalOf(() => limiter.check(paged, { n: 10 }))).toBeNull();
  });

  it('refuses a document with variables for what its text decides from memory, whatever the variables', () => {
    const limiter = new QueryLimiter(schema, { ...limits, maxAliases: 1 });
    const aliased =
      'query Two($n: Int) { a: devices(first: $n) { totalCount } b: devices(first: $n) { totalCount } }';
    const first = refusalOf(() => limiter.check(aliased, { n: 1 }));
    expect(first?.extensions).toMatchObject({ limit: 'aliases' });
    expect(refusalOf(() => limiter.check(aliased, { n: 2 }))).toBe(first);
  });

  it('keeps syntax errors for Apollo to report, and forgets nothing it should not', () => {
    const limiter = new QueryLimiter(schema, limits);
    expect(() => limiter.check('{ devices(first: ', undefined)).toThrow(graphql.GraphQLError);
    expect(() => limiter.check('{ devices(first: ', undefined)).not.toThrow(QueryLimitError);
  });
});
