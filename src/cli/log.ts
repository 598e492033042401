/**
 * The CLI's logger, on stderr: warnings and information as text, or as JSON lines beside --progress-json
 * events so that stream stays machine-readable. Debug lines only with ANYVIEW_DEBUG=1.
 */
import type { Logger } from '../core/context.ts';

export interface CliLoggerOptions {
  readonly debug: boolean;
  /** Drop info lines (warnings still go out). */
  readonly quiet: boolean;
  readonly format: 'text' | 'json';
}

export function createCliLogger(options: CliLoggerOptions, stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: 'debug' | 'info' | 'warn', message: string) => {
    if (options.format === 'json') stream.write(`${JSON.stringify({ type: 'log', level, message })}\n`);
    else stream.write(`anyview: ${level === 'warn' ? 'warning: ' : ''}${message}\n`);
  };
  return {
    debug(message) {
      if (options.debug) write('debug', message);
    },
    info(message) {
      if (!options.quiet) write('info', message);
    },
    warn(message) {
      write('warn', message);
    },
  };
}
