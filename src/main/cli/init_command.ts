/**
 * `vmmsim init [dir]`: a starter folder a user can run at once — package.json (kept if there
 * is one), tsconfig.json, a device scenario, a race scenario with the switch that fixes it,
 * and a README of commands to try. Copies templates/init/; writes nothing if any file it
 * would write is there already (exit 2, naming it).
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic_write.js';
import { shown } from './cli_help.js';
import { packageRoot } from '../runtime/run_scenario.js';

/**
 * What init writes besides package.json: the templates, by name (`gitignore` is written as
 * `.gitignore`: npm leaves a file of that name out of a package).
 */
function templates(): Map<string, string> {
  const dir = join(packageRoot(), 'templates', 'init');
  return new Map(
    readdirSync(dir).map((name) => [
      name === 'gitignore' ? '.gitignore' : name,
      readFileSync(join(dir, name), 'utf8'),
    ]),
  );
}

/** A package name npm accepts, from the folder's name. */
function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name === '' ? 'vmmsim-scenarios' : name.slice(0, 214);
}

function packageJson(dir: string): string {
  const manifest = {
    name: packageName(dir),
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { start: 'vmmsim run device.ts', hunt: 'vmmsim hunt race.ts' },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Whether `import 'vmmsim'` resolves from the folder (an install here or in a parent). */
function vmmsimVisibleFrom(dir: string): boolean {
  try {
    createRequire(join(dir, 'package.json')).resolve('vmmsim');
    return true;
  } catch {
    return false;
  }
}

export function initCommand(folder: string): number {
  const dir = resolve(folder);
  const target = shown(folder);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    process.stderr.write(`error: init ${target}: a file, not a folder.\n`);
    return 2;
  }
  const files = templates();
  const taken = [...files.keys()].filter((name) => existsSync(join(dir, name)));
  if (taken.length > 0) {
    process.stderr.write(
      `error: init ${target}: ${taken.join(', ')} already there; nothing written ` +
        '(choose another folder or move them).\n',
    );
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  const keepManifest = existsSync(join(dir, 'package.json'));
  if (!keepManifest) files.set('package.json', packageJson(dir));
  for (const [name, text] of files) writeFileAtomic(join(dir, name), text);
  const fromHere = relative(process.cwd(), dir);
  const where = shown(fromHere === '' ? '.' : fromHere.startsWith('..') ? dir : fromHere);
  const names = [...files.keys()].sort().join(', ');
  const lines = [`init: wrote ${names} in ${where}`];
  if (keepManifest) lines.push('  kept the package.json that was there');
  if (!vmmsimVisibleFrom(dir)) {
    lines.push(
      `  note: vmmsim is not installed where ${where} can see it; in ${where}:`,
      '    npm install <the vmmsim tarball or checkout>',
    );
  }
  const cd = where === '.' ? '' : `cd ${where} && `;
  lines.push(
    'Try:',
    `  ${cd}npx vmmsim run device.ts`,
    `  ${cd}npx vmmsim hunt race.ts`,
    '  (README.md lists more)',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
