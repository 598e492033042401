/**
 * Compiles the WebAssembly text kernels (src/**\/kernels/*.wat) into TypeScript modules that embed the binary
 * (base64), so the package needs no build step at install or run time. `npm run build:wasm` rewrites them; the
 * test src/imaging/kernels/resize-kernels.test.ts fails when a committed module no longer matches its source.
 * Usage: node --import tsx tools/build-wasm.ts [--check]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWat, WASM_KERNELS, embeddedModuleSource } from './wasm-kernels.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const kernel of WASM_KERNELS) {
  const bytes = await compileWat(await readFile(path.join(repo, kernel.wat), 'utf8'), kernel.wat);
  const source = embeddedModuleSource(kernel, bytes);
  const target = path.join(repo, kernel.ts);
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current === source) continue;
  if (check) {
    console.error(`${kernel.ts} is stale: run npm run build:wasm`);
    stale++;
  } else {
    await writeFile(target, source);
    console.log(`wrote ${kernel.ts} (${bytes.length} bytes of wasm)`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
