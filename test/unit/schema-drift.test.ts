import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildFleetgraphSchema, printFleetgraphSdl } from '../../src/schema/build-schema.js';

/** The committed SDL and SDK are generated artefacts: they must match the code that generates them. */
describe('generated files', () => {
  it('schema/schema.graphql is the SDL the code prints (run `npm run schema:print`)', async () => {
    const printed = await printFleetgraphSdl(await buildFleetgraphSchema());
    expect(`${printed.trimEnd()}\n`).toBe(await readFile('schema/schema.graphql', 'utf8'));
  });

  it('src/generated/fleetgraph-sdk.ts is what codegen.ts generates (run `npm run codegen`)', async () => {
    // Codegen loads its plugins with require(), which jest's ESM sandbox cannot do: generate in a child process, in memory.
    const script = `
      import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
      const { config } = await loadCodegenConfig({ configFilePath: 'codegen.ts' });
      const outputs = await generate({ ...config, cwd: process.cwd(), silent: true }, false);
      process.stdout.write(outputs.find((o) => o.filename.endsWith('fleetgraph-sdk.ts')).content);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toBe(await readFile('src/generated/fleetgraph-sdk.ts', 'utf8'));
  }, 60_000);
});
