import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { SHAPE_VARIANTS } from '../../../src/emulators/core/shape-variants.js';
import type { ShapeVariant } from '../../../src/emulators/core/shape-variants.js';
import { SEEDED_USER_PASSWORD } from '../../../src/emulators/fleet/seeded-fleet.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';

/**
 * Property: whatever valid-but-different shapes the three upstreams answer with (optional fields
 * dropped or null, unknown fields, numbers as strings, the alternative spellings real deployments use,
 * an HTML page behind a 200), the example operations and `_entities` never answer
 * INTERNAL_SERVER_ERROR, the server never falls over, and every error names the upstream it came from.
 */
const OPERATIONS = ['device-detail', 'fleet-page', 'users']
  .map((name) =>
    readFileSync(
      fileURLToPath(new URL(`../../../schema/operations/${name}.graphql`, import.meta.url)),
      'utf8',
    ),
  )
  .join('\n');

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Device { id registration { deviceId uploadId } management { status owner { name } } access { name loginBlocked } apps { name } users { userId } }
  }
}`;

const UPSTREAMS = new Set(['KDMS', 'KNOX_MANAGE', 'BOX']);
const RUNS = 40;

let graph: TestGraph;
beforeAll(async () => {
  graph = await startTestGraph();
});
afterAll(() => graph.stop());

async function run(
  operationName: string | null,
  query: string,
  variables: Record<string, unknown>,
): Promise<GraphQLBody> {
  const response = await fetch(graph.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables, ...(operationName ? { operationName } : {}) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as GraphQLBody;
}

describe('shape variants from every upstream', () => {
  it(`answers the example operations and _entities without INTERNAL_SERVER_ERROR (${RUNS} random combinations)`, async () => {
    const fleet = graph.emulators.fleet;
    const everywhere = fleet.devices.find((d) => d.imei && d.kdms && d.knoxManage && d.box)!;
    const serialOnly = fleet.devices.find((d) => d.knoxManage && d.box && !d.kdms)!;
    const owner = everywhere.knoxManage!.ownerUserId;
    const representations = fleet.devices
      .filter((d) => d.imei)
      .slice(0, 20)
      .map((d) => ({ __typename: 'Device', imei: d.imei }));
    const operations: Array<[string | null, string, Record<string, unknown>]> = [
      ['FleetPage', OPERATIONS, { first: 30 }],
      ['DeviceDetail', OPERATIONS, { imei: everywhere.imei }],
      ['DeviceDetail', OPERATIONS, { serialNumber: serialOnly.serialNumber }],
      ['UserWithDevices', OPERATIONS, { userId: owner, first: 10 }],
      ['Users', OPERATIONS, { first: 10 }],
      ['AuthenticateUser', OPERATIONS, { userId: owner, password: SEEDED_USER_PASSWORD }],
      ['UpstreamHealth', OPERATIONS, {}],
      [null, ENTITIES, { representations }],
    ];
    const tally = { combinations: 0, operations: 0, errorsByUpstream: {} as Record<string, number> };
    const kinds = fc.subarray([...SHAPE_VARIANTS] as ShapeVariant[]);

    await fc.assert(
      fc.asyncProperty(fc.record({ kdms: kinds, knoxManage: kinds, box: kinds }), async (variants) => {
        tally.combinations += 1;
        const { kdms, knoxManage, box } = graph.emulators;
        kdms.http.setFaults({ shapeVariants: variants.kdms });
        knoxManage.http.setFaults({ shapeVariants: variants.knoxManage });
        box.http.setFaults({ shapeVariants: variants.box });
        try {
          for (const [operationName, query, variables] of operations) {
            tally.operations += 1;
            const body = await run(operationName, query, variables);
            for (const error of body.errors ?? []) {
              const code = error.extensions?.code;
              const upstream = String(error.extensions?.upstream);
              expect({ operationName, variants, code, message: error.message }).not.toMatchObject({
                code: 'INTERNAL_SERVER_ERROR',
              });
              expect({ operationName, variants, upstream, message: error.message }).toMatchObject({
                upstream: expect.stringMatching(/^(KDMS|KNOX_MANAGE|BOX)$/),
              });
              expect(UPSTREAMS.has(upstream)).toBe(true);
              tally.errorsByUpstream[upstream] = (tally.errorsByUpstream[upstream] ?? 0) + 1;
            }
          }
        } finally {
          for (const emulator of [kdms, knoxManage, box]) emulator.http.clearFaults();
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FAST_CHECK_SEED ?? Date.now() % 2 ** 31) },
    );
    // The server is still up and answers plainly once the upstreams speak their usual shapes again.
    const health = await run('UpstreamHealth', OPERATIONS, {});
    expect(health.errors).toBeUndefined();
    // Visible in the test output: how much was tried.
    console.log(
      `shape variants: ${tally.combinations} combinations, ${tally.operations} operations, ` +
        `0 INTERNAL_SERVER_ERROR; upstream errors by API ${JSON.stringify(tally.errorsByUpstream)}`,
    );
  }, 180_000);
});
