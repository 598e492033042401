/** `anyview auto <input>`: recognises an image, a folder of images or a video and runs the right job (depth, or video depth). */
import { Command } from 'commander';
import { classifyInput, expandImageInputs } from '../../io/inputs.ts';
import { InputError } from '../../core/errors.ts';
import { VIDEO_FRAME_FORMATS, type VideoFrameFormat } from '../../pipeline/video-job.ts';
import { addDepthFlags, runDepthCommand } from './depth.ts';
import { runVideoCommand } from './video.ts';

export function autoCommand(): Command {
  return addDepthFlags(
    new Command('auto')
      .description('Recognise the input (image, folder of images, video) and run the matching pipeline')
      .argument('<input>', 'an image, a folder of images, or a video'),
  ).action(async (input: string, flags: Parameters<typeof runDepthCommand>[1]) => {
    const kind = await classifyInput(input);
    switch (kind) {
      case 'image':
      case 'imageFolder':
        await runDepthCommand(await expandImageInputs([input]), flags);
        return;
      case 'video': {
        const frameFormats = flags.format.filter((f): f is VideoFrameFormat => (VIDEO_FRAME_FORMATS as readonly string[]).includes(f));
        if (frameFormats.length !== flags.format.length) {
          throw new InputError(`video frames can be written as ${VIDEO_FRAME_FORMATS.join(', ')}; drop ${flags.format.filter((f) => !frameFormats.includes(f as VideoFrameFormat)).join(', ')} from --format.`, { file: input });
        }
        await runVideoCommand(input, {
          model: flags.model, variant: flags.variant, allowNonCommercial: flags.allowNonCommercial, out: flags.out,
          format: frameFormats, video: 'color', colormap: flags.colormap, folderFps: 30, device: flags.device,
          json: flags.json, progressJson: flags.progressJson,
          ...(flags.outputKind !== undefined ? { outputKind: flags.outputKind } : {}),
          ...(flags.size !== undefined ? { size: flags.size } : {}),
          ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        });
        return;
      }
    }
  });
}
