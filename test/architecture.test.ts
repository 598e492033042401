/**
 * The layer rule (STYLE.md): imports point only toward lower layers, so the pipeline reads left to right
 * core -> io / imaging -> models / geometry -> sfm / video / splat -> eval -> pipeline -> cli, and only the CLI reads the
 * environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { REPO_ROOT } from './helpers/paths.ts';

/** What each layer may import (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  io: ['core'],
  imaging: ['core'],
  geometry: ['core'],
  models: ['core', 'imaging', 'io'],
  sfm: ['core', 'geometry'],
  video: ['core', 'geometry'],
  splat: ['core', 'geometry', 'imaging'],
  eval: ['core', 'io', 'geometry'],
  pipeline: ['core', 'io', 'imaging', 'models', 'geometry', 'sfm', 'video', 'splat', 'eval'],
  cli: ['core', 'io', 'imaging', 'models', 'geometry', 'sfm', 'video', 'splat', 'eval', 'pipeline'],
};

test('source files import only from their own or lower layers, never from tests or tools', async () => {
  const files = (await glob('src/*/**/*.ts', { cwd: REPO_ROOT })).filter((f) => !f.endsWith('.test.ts'));
  assert.ok(files.length > 30);
  const violations: string[] = [];
  for (const file of files) {
    const layer = file.split('/')[1]!;
    const allowed = ALLOWED[layer];
    assert.ok(allowed !== undefined, `unknown layer folder src/${layer}: add it to ALLOWED`);
    const source = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    for (const match of source.matchAll(/from '(\.[^']+)'/g)) {
      const target = path.relative(path.join(REPO_ROOT, 'src'), path.resolve(path.dirname(path.join(REPO_ROOT, file)), match[1]!));
      const targetLayer = target.split(path.sep)[0]!;
      if (target.startsWith('..')) violations.push(`${file} imports ${match[1]} (outside src/)`);
      else if (targetLayer !== layer && !allowed.includes(targetLayer)) violations.push(`${file} (${layer}) imports ${targetLayer}: ${match[1]}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('only src/cli reads process.env', async () => {
  const files = (await glob('src/**/*.ts', { cwd: REPO_ROOT })).filter((f) => !f.endsWith('.test.ts') && !f.startsWith('src/cli/'));
  const readers = files.filter((f) => /process\.env\b/.test(readFileSync(path.join(REPO_ROOT, f), 'utf8')));
  assert.deepEqual(readers, []);
});
