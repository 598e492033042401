/**
 * bin/anyview.js runs the CLI from an esbuild bundle of the sources, built on first use and rebuilt only when a
 * source changes. This checks the bundle it leaves: it records every source the CLI is built from with its
 * current size and time, a second run reuses it, and a command run from it behaves as the CLI does.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

const bundle = path.join(REPO_ROOT, '.cache', 'cli', 'anyview.mjs');

function stamp(file: string): string {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

test('bin/anyview.js: the bundle records its sources as they are now, and a second run reuses it', async () => {
  const first = await runCli(['--version']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), '0.1.0');
  const inputs = JSON.parse(readFileSync(`${bundle}.inputs.json`, 'utf8')) as { bundle: string; sources: Record<string, string> };
  for (const source of ['src/cli/main.ts', 'src/cli/commands/views.ts', 'src/pipeline/views-fine.ts', 'src/sfm/bundle-adjust.ts']) {
    assert.ok(source in inputs.sources, `${source} is one of the bundle's sources`);
  }
  for (const [source, recorded] of Object.entries(inputs.sources)) assert.equal(stamp(path.join(REPO_ROOT, source)), recorded, source);
  const builtAt = stamp(bundle);
  assert.equal(inputs.bundle, builtAt);

  const second = await runCli(['eval', 'poses', '--images', path.join(REPO_ROOT, 'no-such-folder'), '--gt', 'x.json']);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /no-such-folder|x\.json/);
  assert.equal(stamp(bundle), builtAt, 'the current bundle is not rebuilt');
});
