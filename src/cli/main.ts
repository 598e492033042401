/** The `anyview` command line: parses, runs one pipeline, maps errors to exit codes (core/errors ERROR_TABLE). */
import { Command, CommanderError } from 'commander';
import { exitCodeOf, isToolkitError } from '../core/errors.ts';
import { depthCommand } from './commands/depth.ts';
import { autoCommand } from './commands/auto.ts';
import { evalCommand } from './commands/eval.ts';
import { modelsCommand } from './commands/models.ts';
import { viewsCommand } from './commands/views.ts';
import { videoCommand } from './commands/video.ts';
import { splatCommand } from './commands/splat.ts';
import { renderCommand } from './commands/render.ts';
import { FailedItemsError } from './errors.ts';

/** Makes every (sub)command throw instead of exiting, so main() owns the exit code. */
function throwInsteadOfExit(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExit(sub);
}

export function buildProgram(): Command {
  const program = new Command('anyview')
    .description('Images and video to depth, cameras, point clouds and Gaussians')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .addCommand(autoCommand())
    .addCommand(depthCommand())
    .addCommand(videoCommand())
    .addCommand(viewsCommand())
    .addCommand(splatCommand())
    .addCommand(renderCommand())
    .addCommand(evalCommand())
    .addCommand(modelsCommand());
  throwInsteadOfExit(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (usage errors, --help, --version).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof FailedItemsError) {
      process.stderr.write(`anyview: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`anyview: ${isToolkitError(error) ? `${error.name}: ` : ''}${message}\n`);
    if (!isToolkitError(error) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
