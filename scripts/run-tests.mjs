// Node 20's test runner takes no globs: find the test files here and hand them to `node --test`.
// Extra arguments (e.g. a path prefix or --test-name-pattern=...) pass through.
import { spawnSync } from 'node:child_process';
import { glob } from 'tinyglobby';

const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const files = (await glob(['src/**/*.test.ts', 'test/**/*.test.ts'], { ignore: ['**/node_modules/**', 'test/.generated/**'] }))
  .filter((f) => filters.length === 0 || filters.some((p) => f.startsWith(p)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Builds the CLI's bundle once (bin/anyview.js) before test files spawn the CLI side by side.
spawnSync(process.execPath, ['bin/anyview.js', '--version'], { stdio: 'ignore' });
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
