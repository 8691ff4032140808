import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { VARIABLE_GROUPS, VARIABLE_LIST } from '../src/config/variables.js';
import type { Variable, VariableGroup } from '../src/config/variables.js';

/**
 * `npm run config:docs`: writes README.md's configuration reference (between the two markers below)
 * and `.env.example` from src/config/variables.ts, the table loadConfig reads its variables by.
 * test/unit/config-reference.test.ts fails when either file differs from what this writes.
 */

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README_FILE = 'README.md';
export const ENV_EXAMPLE_FILE = '.env.example';
export const BEGIN_MARKER =
  '<!-- config:begin: generated from src/config/variables.ts by `npm run config:docs`; edit there -->';
export const END_MARKER = '<!-- config:end -->';

const groups = Object.keys(VARIABLE_GROUPS) as VariableGroup[];
const inGroup = (group: VariableGroup): typeof VARIABLE_LIST =>
  VARIABLE_LIST.filter((v) => v.group === group);

/** The default column: the literal default in code, what changes it, or — for none. */
export function defaultText(variable: Variable): string {
  if (variable.default === undefined) return variable.defaultNote ?? '—';
  const value = variable.default === '' ? '(empty)' : `\`${variable.default}\``;
  return variable.defaultNote ? `${value} (${variable.defaultNote})` : value;
}

const cell = (markdown: string): string => markdown.replace(/\|/g, '\\|');

/** The markdown between the README's markers, already formatted by prettier (as `npm run format` would). */
export async function renderReadmeSection(): Promise<string> {
  const parts: string[] = [];
  for (const group of groups) {
    const { title, ...rest } = VARIABLE_GROUPS[group];
    parts.push(`### ${title}`);
    if ('intro' in rest) parts.push(rest.intro);
    parts.push(
      [
        '| variable | default | meaning |',
        '| --- | --- | --- |',
        ...inGroup(group).map((v) => `| \`${v.name}\` | ${cell(defaultText(v))} | ${cell(v.meaning)} |`),
      ].join('\n'),
    );
  }
  const options = (await prettier.resolveConfig(`${ROOT}${README_FILE}`)) ?? {};
  return prettier.format(`${parts.join('\n\n')}\n`, { ...options, parser: 'markdown', proseWrap: 'always' });
}

/** `readme` with the text between its markers replaced by `section`. */
export function replaceSection(readme: string, section: string): string {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin === -1 || end === -1 || end < begin)
    throw new Error(`${README_FILE} needs the lines ${BEGIN_MARKER} and ${END_MARKER}, in that order`);
  return `${readme.slice(0, begin)}${BEGIN_MARKER}\n\n${section}\n${readme.slice(end)}`;
}

/** `.env.example`: settings real upstreams need as active lines, everything else commented with its default. */
export function renderEnvExample(): string {
  const lines = [
    '# Fleetgraph configuration. With none of KDMS_URL, KNOX_MANAGE_URL, BOX_URL set, `npm start` runs the',
    '# embedded development mode (emulators in-process, caller auth off). Every value is validated at start.',
    '# Fleetgraph reads the environment; load this file with your process manager (or `set -a; . ./.env`).',
    '# Every variable Fleetgraph reads is here; README.md (Configuration) says what each one means.',
    '# Generated from src/config/variables.ts by `npm run config:docs`: edit there, not here.',
  ];
  for (const group of groups) {
    lines.push('', `# --- ${VARIABLE_GROUPS[group].envTitle} ---`);
    for (const v of inGroup(group)) {
      if (v.exampleNote) lines.push(`# ${v.exampleNote}`);
      const value = v.example ?? v.default ?? '';
      lines.push(`${v.exampleSet ? '' : '# '}${v.name}=${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes both files; returns the ones that changed. */
export async function writeConfigDocs(root = ROOT): Promise<string[]> {
  const changed: string[] = [];
  const readme = await readFile(`${root}${README_FILE}`, 'utf8');
  const nextReadme = replaceSection(readme, await renderReadmeSection());
  if (nextReadme !== readme) {
    await writeFile(`${root}${README_FILE}`, nextReadme);
    changed.push(README_FILE);
  }
  const envExample = await readFile(`${root}${ENV_EXAMPLE_FILE}`, 'utf8').catch(() => '');
  const nextEnvExample = renderEnvExample();
  if (nextEnvExample !== envExample) {
    await writeFile(`${root}${ENV_EXAMPLE_FILE}`, nextEnvExample);
    changed.push(ENV_EXAMPLE_FILE);
  }
  return changed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeConfigDocs().then(
    (changed) =>
      console.log(
        changed.length
          ? `wrote ${changed.join(' and ')} (${VARIABLE_LIST.length} variables)`
          : `${README_FILE} and ${ENV_EXAMPLE_FILE} are up to date (${VARIABLE_LIST.length} variables)`,
      ),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
