#!/usr/bin/env node
/**
 * The CLI runs from one esbuild bundle of the TypeScript sources (.cache/cli/anyview.mjs), rebuilt (about 0.1 s)
 * whenever a source it was built from has changed, so a fresh clone needs no build step. Loading the ~180
 * modules one by one through tsx's loader took about 0.8 s of every command. Where the bundle cannot be built
 * or written, the sources run through tsx as before.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');
const bundle = path.join(root, '.cache', 'cli', 'anyview.mjs');
// The sources the bundle was built from, each with its size and modification time, and the bundle's own.
const inputsFile = `${bundle}.inputs.json`;

function stamp(file) {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

function bundleIsCurrent() {
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
    if (inputs.bundle !== stamp(bundle)) return false;
    return Object.entries(inputs.sources).every(([file, s]) => stamp(path.join(root, file)) === s);
  } catch {
    return false;
  }
}

/** Builds the bundle and its source map; each file is written under a temporary name, then renamed into place. */
async function buildBundle() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root, entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', format: 'esm',
    target: 'node20', packages: 'external', sourcemap: 'linked', metafile: true, write: false, logLevel: 'silent',
  });
  mkdirSync(path.dirname(bundle), { recursive: true });
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  const sources = Object.fromEntries(Object.keys(result.metafile.inputs).map((file) => [file, stamp(path.join(root, file))]));
  const temporary = `${inputsFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ bundle: stamp(bundle), sources }));
  renameSync(temporary, inputsFile);
}

let bundled = bundleIsCurrent();
if (!bundled) {
  try {
    await buildBundle();
    bundled = true;
  } catch {
    bundled = false;
  }
}
if (bundled) {
  // Stack traces of unexpected errors then name the TypeScript sources.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
