import { readFileSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import ts from 'typescript';
import {
  ENV_EXAMPLE_FILE,
  README_FILE,
  ROOT,
  renderEnvExample,
  renderReadmeSection,
  replaceSection,
} from '../../scripts/config-docs.js';
import { VARIABLES, VARIABLE_LIST } from '../../src/config/variables.js';
import type { Variable, VariableName } from '../../src/config/variables.js';
import { DEFAULT_EMULATOR_PORTS } from '../../src/emulators/start-emulators.js';

/**
 * One configuration reference: src/config/variables.ts lists every environment variable; README.md's
 * Configuration tables and `.env.example` are written from it (`npm run config:docs`), and every
 * variable src/ reads is in it, with the default the code falls back to.
 */

const DOCS = 'run `npm run config:docs`';
const FIX = `${DOCS} to rewrite it from src/config/variables.ts`;

function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  let i = 0;
  while (i < a.length && a[i] === e[i]) i += 1;
  return `first difference at line ${i + 1}:\n  now:      ${a[i] ?? '(end of file)'}\n  expected: ${e[i] ?? '(end of file)'}`;
}

function expectUpToDate(file: string, actual: string, expected: string): void {
  if (actual !== expected)
    throw new Error(
      `${file} differs from src/config/variables.ts: ${FIX}.\n${firstDifference(actual, expected)}`,
    );
}

const NAME = /^[A-Z][A-Z0-9_]*$/;
/** loadConfig's helpers (src/config/), each taking a variable's name first. */
const HELPERS = new Set(['text', 'int', 'url', 'bool', 'required', 'secretUrl']);

interface Read {
  name: string;
  where: string;
}
/** A literal the code falls back to when the variable is unset. */
interface Fallback extends Read {
  value: string;
}

/** Reads of the environment in one source file, from its syntax tree (comments and strings do not count). */
function readsIn(file: string, text: string): { reads: Read[]; fallbacks: Fallback[]; dynamic: string[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const reads: Read[] = [];
  const fallbacks: Fallback[] = [];
  const dynamic: string[] = [];
  const where = (node: ts.Node): string =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  /** `process.env` or an `env` that stands for it (cli.ts's alias, loadConfig's parameter). */
  const isEnv = (node: ts.Expression): boolean =>
    (ts.isIdentifier(node) && node.text === 'env') ||
    (ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'process' &&
      node.name.text === 'env');
  const helperIn = file.startsWith(`src${sep}config${sep}`);
  /** The variable `node` reads, if it is a read: `env.X`, `env['X']` or `text('X')`. */
  const readBy = (node: ts.Node): string | undefined => {
    if (ts.isPropertyAccessExpression(node) && isEnv(node.expression) && NAME.test(node.name.text))
      return node.name.text;
    if (
      ts.isElementAccessExpression(node) &&
      isEnv(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression)
    )
      return node.argumentExpression.text;
    if (
      helperIn &&
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      HELPERS.has(node.expression.text) &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    )
      return node.arguments[0].text;
    return undefined;
  };
  const literal = (node: ts.Node | undefined): string | undefined => {
    if (!node) return undefined;
    if (ts.isNumericLiteral(node)) return String(Number(node.getText(source).replace(/_/g, '')));
    if (ts.isStringLiteralLike(node)) return node.text;
    if (node.kind === ts.SyntaxKind.TrueKeyword) return 'true';
    if (node.kind === ts.SyntaxKind.FalseKeyword) return 'false';
    return undefined;
  };
  const fallBack = (name: string, node: ts.Node, value: string | undefined): void => {
    if (value !== undefined && value !== '') fallbacks.push({ name, where: where(node), value });
  };
  /** `read ?? 'x'`, also at the end of a chain (`flag ?? env.X ?? 'x'`): the first literal after the read. */
  const coalesced = (node: ts.Node): string | undefined => {
    let current = node;
    for (;;) {
      const parent = current.parent;
      if (ts.isParenthesizedExpression(parent)) {
        current = parent;
        continue;
      }
      if (!ts.isBinaryExpression(parent) || parent.operatorToken.kind !== ts.SyntaxKind.QuestionQuestionToken)
        return undefined;
      if (parent.left === current) {
        const value = literal(parent.right);
        if (value !== undefined) return value;
      }
      current = parent;
    }
  };
  const visit = (node: ts.Node): void => {
    const name = readBy(node);
    if (name !== undefined) {
      reads.push({ name, where: where(node) });
      // int('X', fallback, min, max) and bool('X', fallback)
      if (
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        ['int', 'bool'].includes(node.expression.text)
      )
        fallBack(name, node, literal(node.arguments[1]));
      // text('X') ?? 'fallback', env.X ?? 'fallback'
      fallBack(name, node, coalesced(node));
    } else if (
      ts.isElementAccessExpression(node) &&
      isEnv(node.expression) &&
      !(file === join('src', 'config', 'config.ts'))
    ) {
      dynamic.push(`${where(node)} ${node.getText(source)}`);
    } else if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer &&
      isEnv(node.initializer)
    ) {
      // const { PORT, HOST = '0.0.0.0' } = process.env
      for (const element of node.name.elements) {
        const key = element.propertyName ?? element.name;
        if (ts.isIdentifier(key) || ts.isStringLiteralLike(key)) {
          reads.push({ name: key.text, where: where(element) });
          fallBack(key.text, element, literal(element.initializer));
        }
      }
    } else if (
      // wholeNumber('X', flag ?? env.X, fallback) in cli.ts: the fallback of a read in its arguments.
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'wholeNumber'
    ) {
      const [named, , fallback] = node.arguments;
      if (named && ts.isStringLiteralLike(named)) fallBack(named.text, node, literal(fallback));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { reads, fallbacks, dynamic };
}

const sourceFiles = (readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => file.endsWith('.ts') && !/\.(test|spec)\.ts$/.test(file))
  .filter((file) => !file.split(sep).some((part) => part === '__tests__' || part === 'generated'))
  .map((file) => join('src', file))
  .sort();

const scanned = sourceFiles.map((file) => readsIn(file, readFileSync(join(ROOT, file), 'utf8')));
const reads = scanned.flatMap((s) => s.reads);
const fallbacks = scanned.flatMap((s) => s.fallbacks);
const dynamicReads = scanned.flatMap((s) => s.dynamic);
const table = new Set<string>(Object.keys(VARIABLES));

describe('the configuration reference', () => {
  it(`${README_FILE}'s Configuration tables are written from src/config/variables.ts`, async () => {
    const readme = readFileSync(join(ROOT, README_FILE), 'utf8');
    expectUpToDate(README_FILE, readme, replaceSection(readme, await renderReadmeSection()));
  });

  it(`${ENV_EXAMPLE_FILE} is written from src/config/variables.ts`, () => {
    expectUpToDate(ENV_EXAMPLE_FILE, readFileSync(join(ROOT, ENV_EXAMPLE_FILE), 'utf8'), renderEnvExample());
  });

  it('finds the reads it checks (the scan itself works)', () => {
    expect(sourceFiles).toContain(join('src', 'config', 'config.ts'));
    expect(sourceFiles).toContain(join('src', 'cli.ts'));
    const names = new Set(reads.map((r) => r.name));
    for (const name of [
      'PORT',
      'AUTH_JWKS_URL',
      'FLEET_SYNC_INTERVAL',
      'EMULATOR_HOST',
      'KDMS_EMULATOR_PORT',
    ])
      expect(names).toContain(name);
  });

  it('documents every variable src/ reads', () => {
    const missing = reads.filter((r) => !table.has(r.name)).map((r) => `${r.name} (read at ${r.where})`);
    if (missing.length)
      throw new Error(
        `Read but not in src/config/variables.ts; add them there, then ${DOCS}:\n  ${missing.join('\n  ')}`,
      );
  });

  it('reads the environment by literal names only, outside loadConfig', () => {
    if (dynamicReads.length)
      throw new Error(
        `A computed name cannot be checked against src/config/variables.ts; read these through loadConfig or by a literal name:\n  ${dynamicReads.join('\n  ')}`,
      );
  });

  it('lists no variable nothing reads', () => {
    const read = new Set(reads.map((r) => r.name));
    const unused = [...table].filter((name) => !read.has(name));
    if (unused.length)
      throw new Error(
        `In src/config/variables.ts but read nowhere in src/; remove them (then ${DOCS}):\n  ${unused.join('\n  ')}`,
      );
  });

  it('shows the defaults the code falls back to', () => {
    expect(fallbacks.map((f) => f.name)).toEqual(
      expect.arrayContaining(['PORT', 'FLEET_SIZE', 'EMULATOR_HOST']),
    );
    const wrong = fallbacks
      .filter((f) => table.has(f.name))
      .flatMap((f) => {
        const documented: Variable = VARIABLES[f.name as VariableName];
        if (documented.default === undefined)
          return documented.defaultNote
            ? []
            : [`${f.name}: the code falls back to ${f.value} (${f.where}), the table shows no default`];
        return documented.default === f.value
          ? []
          : [
              `${f.name}: the code falls back to ${f.value} (${f.where}), the table says ${documented.default}`,
            ];
      });
    const ports = {
      kdms: 'KDMS_EMULATOR_PORT',
      knoxManage: 'KNOX_MANAGE_EMULATOR_PORT',
      box: 'BOX_EMULATOR_PORT',
    } as const;
    for (const [emulator, name] of Object.entries(ports)) {
      const port = String(DEFAULT_EMULATOR_PORTS[emulator as keyof typeof ports]);
      if (VARIABLES[name].default !== port)
        wrong.push(
          `${name}: DEFAULT_EMULATOR_PORTS.${emulator} is ${port}, the table says ${VARIABLES[name].default}`,
        );
    }
    if (wrong.length)
      throw new Error(
        `Defaults in src/config/variables.ts that are not the code's:\n  ${wrong.join('\n  ')}`,
      );
  });

  it('lets loadConfig read only variables in the table (checked by tsc)', () => {
    // @ts-expect-error a name missing from VARIABLES is no VariableName, so config.ts's helpers refuse it
    const notAVariable: VariableName = 'NOT_A_FLEETGRAPH_VARIABLE';
    expect(table.has(notAVariable)).toBe(false);
    expect(VARIABLE_LIST.map((v) => v.name)).toEqual(Object.keys(VARIABLES));
    for (const v of VARIABLE_LIST) expect(v.meaning.trim()).not.toBe('');
  });
});
