/** Spawns the real `anyview` binary, as a user would run it. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'anyview.js'), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      // Never reach for the network or the user's cache from a test.
      env: { ...process.env, ANYVIEW_OFFLINE: '1', ANYVIEW_CACHE_DIR: path.join(REPO_ROOT, 'test', '.generated', 'empty-cache'), ANYVIEW_MODEL_DIR: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
