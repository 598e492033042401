/** The only place the CLI reads environment variables; everything below receives values explicitly. */
import os from 'node:os';
import path from 'node:path';

export interface CliEnvironment {
  readonly modelDir: string | undefined;
  readonly cacheDir: string;
  /** False when ANYVIEW_OFFLINE=1: never try the network. */
  readonly allowDownload: boolean;
  /** ANYVIEW_DEBUG=1: debug lines on stderr. */
  readonly debug: boolean;
}

export function readCliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const xdgCache = env['XDG_CACHE_HOME'];
  return {
    modelDir: env['ANYVIEW_MODEL_DIR'] || undefined,
    cacheDir: env['ANYVIEW_CACHE_DIR'] || path.join(xdgCache || path.join(os.homedir(), '.cache'), 'anyview'),
    allowDownload: !(env['ANYVIEW_OFFLINE'] === '1' || env['ANYVIEW_OFFLINE'] === 'true'),
    debug: env['ANYVIEW_DEBUG'] === '1' || env['ANYVIEW_DEBUG'] === 'true',
  };
}
