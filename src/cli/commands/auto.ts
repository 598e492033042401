/** `anyview auto <input>`: recognises an image, a folder of images or a video and runs the right job. */
import { Command } from 'commander';
import { classifyInput, expandImageInputs } from '../../io/inputs.ts';
import { InputError } from '../../core/errors.ts';
import { addDepthFlags, runDepthCommand } from './depth.ts';

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
      case 'video':
        throw new InputError('Video input is recognised, but the video pipeline (L4P windows) is not in this version yet; extract frames to a folder (e.g. ffmpeg -i in.mp4 frames/%05d.png) and run `anyview auto frames/`.', { file: input });
    }
  });
}
