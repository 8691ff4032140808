import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildFleetgraphSchema, printFleetgraphSdl } from '../../src/schema/build-schema.js';

/** The committed SDL and SDK are generated artefacts: they must match the code that generates them. */
describe('generated files', () => {
  it('schema/schema.graphql is the SDL the code prints (run `npm run schema:print`)', async () => {
    const printed = await printFleetgraphSdl(await buildFleetgraphSchema());
    expect(`${printed.trimEnd()}\n`).toBe(await readFile('schema/schema.graphql', 'utf8'));
  });

  const generatedFiles = [
    'src/generated/fleetgraph-sdk.ts',
    'packages/client/src/generated/graphql.ts',
    'packages/client/src/generated/persisted-documents.json',
  ];

  it('the SDK, the client documents and the trusted-documents manifest are what codegen.yml generates (run `npm run codegen`)', async () => {
    // Codegen loads its plugins with require(), which jest's ESM sandbox cannot do: generate in a child process, in memory.
    const script = `
      import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
      const { config } = await loadCodegenConfig({ configFilePath: 'codegen.yml' });
      const outputs = await generate({ ...config, cwd: process.cwd(), silent: true }, false);
      process.stdout.write(JSON.stringify(Object.fromEntries(outputs.map((o) => [o.filename, o.content]))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const generated = new Map(
      Object.entries(JSON.parse(stdout) as Record<string, string>).map(([file, content]) => [
        relative(process.cwd(), resolve(file)),
        content,
      ]),
    );
    for (const file of generatedFiles) {
      expect({ file, content: generated.get(file) }).toEqual({ file, content: await readFile(file, 'utf8') });
    }
  }, 60_000);
});
