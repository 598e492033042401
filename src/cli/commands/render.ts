/** `anyview render`: a splat file to a PNG from one camera, or to an orbit / camera-path video. A thin adapter over pipeline/render-job. */
import { Command, InvalidArgumentError } from 'commander';
import { InputError } from '../../core/errors.ts';
import { runRenderJob, type RenderJobOptions, type RenderJobSummary, type RenderView } from '../../pipeline/render-job.ts';
import { parseNonNegativeInt, parsePositiveInt, parsePositiveNumber } from '../parse.ts';
import { runCliJob } from '../run-job.ts';

interface RenderFlags {
  camera?: string;
  view?: number;
  orbit?: number;
  cameraPath?: string;
  out: string;
  background: [number, number, number];
  depthOut?: string;
  labelsOut?: string;
  fps: number;
  width: number;
  height: number;
  fovDeg: number;
  elevationDeg: number;
  json: boolean;
  progressJson: boolean;
}

function parseBackground(value: string): [number, number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((v) => !(v >= 0 && v <= 1))) {
    throw new InvalidArgumentError(`--background must be three numbers in 0..1 "r,g,b" (e.g. 1,1,1 for white; divide 0-255 values by 255), got "${value}".`);
  }
  return parts as [number, number, number];
}

function parseElevation(value: string): number {
  const n = Number(value);
  if (!(Math.abs(n) < 90)) throw new InvalidArgumentError(`--elevation-deg must be strictly between -90 and 90, got "${value}".`);
  return n;
}

export function renderViewFromFlags(flags: RenderFlags): RenderView {
  const chosen = [flags.camera, flags.orbit, flags.cameraPath].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw new InputError('choose exactly one of --camera CAMERA.json, --orbit N or --camera-path PATH.json.');
  if (flags.camera !== undefined) return { kind: 'camera', file: flags.camera, ...(flags.view !== undefined ? { viewIndex: flags.view } : {}) };
  if (flags.view !== undefined) throw new InputError('--view goes with --camera (a cameras.json of `anyview views`).');
  if (flags.orbit !== undefined) {
    return { kind: 'orbit', count: flags.orbit, width: flags.width, height: flags.height, fovXDeg: flags.fovDeg, elevationDeg: flags.elevationDeg, fps: flags.fps };
  }
  return { kind: 'path', file: flags.cameraPath!, fps: flags.fps };
}

function printSummary(s: RenderJobSummary): void {
  process.stdout.write(`${s.input}: ${s.gaussians} Gaussians (${s.visible} visible) at ${s.width}x${s.height}, ${s.frames} frame(s), ${s.msPerFrame.toFixed(0)} ms/frame -> ${s.outputs.join(', ')}\n`);
}

export function renderCommand(): Command {
  return new Command('render')
    .description('Render a splat file (ply, spz, glb, splat) with the CPU reference rasteriser: one camera to a PNG, or an orbit / camera path to an MP4')
    .argument('<splats>', 'a splat file')
    .requiredOption('-o, --out <file>', 'IMAGE.png for --camera, VIDEO.mp4 for --orbit / --camera-path')
    .option('--camera <file>', 'CAMERA.json {width, height, fx, fy, cx, cy, worldFromCamera: 16 numbers row-major, OpenCV axes}, or a cameras.json with --view')
    .option('--view <i>', 'view index in a cameras.json of `anyview views`', parseNonNegativeInt('--view'))
    .option('--orbit <n>', 'an orbit of n frames around the set\'s centre', parsePositiveInt('--orbit'))
    .option('--camera-path <file>', 'a JSON list of cameras (as CAMERA.json), or a cameras.json (every registered view)')
    .option('--background <r,g,b>', 'background colour, 0..1 each', parseBackground, [0, 0, 0])
    .option('--depth-out <file>', 'with --camera: depth as .png (16-bit) or .npy')
    .option('--labels-out <file>', 'with --camera: class label PNG (255 = none)')
    .option('--fps <n>', 'video frame rate', parsePositiveNumber('--fps'), 30)
    .option('--width <px>', 'orbit frame width', parsePositiveInt('--width'), 640)
    .option('--height <px>', 'orbit frame height', parsePositiveInt('--height'), 480)
    .option('--fov-deg <deg>', 'orbit horizontal field of view', parsePositiveNumber('--fov-deg'), 60)
    .option('--elevation-deg <deg>', 'orbit elevation above the centre', parseElevation, 20)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--progress-json', 'write progress events as JSON lines on stderr', false)
    .action(async (splats: string, flags: RenderFlags) => {
      const options: RenderJobOptions = {
        view: renderViewFromFlags(flags), output: flags.out, background: flags.background,
        ...(flags.depthOut !== undefined ? { depthOutput: flags.depthOut } : {}),
        ...(flags.labelsOut !== undefined ? { labelsOutput: flags.labelsOut } : {}),
      };
      await runCliJob(flags, ({ context }) => runRenderJob(splats, options, { ...(context.onProgress !== undefined ? { onProgress: context.onProgress } : {}) }), printSummary, { withBackend: false });
    });
}
