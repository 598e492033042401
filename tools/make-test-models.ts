/**
 * Tiny ONNX depth models for tests. Each maps a normalised NCHW RGB image to a fixed linear mix of its
 * channels (depth = r + 2g + 4b, see MIX_WEIGHTS), so every pre- and postprocessing step around the
 * network can be checked in closed form. A few break the depth contract on purpose, for error tests.
 *
 * Script mode (`npm run test:fixtures`) writes them to test/.generated/.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GENERATED_DIR } from '../test/helpers/paths.ts';
import { ensureDa3MultiviewTestGraphs } from './onnx/da3-multiview-test-graph.ts';
import { GraphBuilder, type Dim } from './onnx/graph-builder.ts';

/** depth = Σ MIX_WEIGHTS[c] * x[:, c]: distinct powers of two, so a swapped channel order shows up. */
export const MIX_WEIGHTS = [1, 2, 4] as const;
/** Scale of the metricSigmoid20 model: depth = METRIC_MAX_DEPTH_METERS * sigmoid(mix). */
export const METRIC_MAX_DEPTH_METERS = 20;

/** The closed form of the mix for one NCHW image of batch 1: returns height*width values, row-major. */
export function mixChannels(nchw: Float32Array, height: number, width: number): Float32Array {
  const plane = height * width;
  if (nchw.length !== 3 * plane) throw new Error(`mixChannels: expected ${3 * plane} values, got ${nchw.length}.`);
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    out[i] = MIX_WEIGHTS[0] * nchw[i]! + MIX_WEIGHTS[1] * nchw[plane + i]! + MIX_WEIGHTS[2] * nchw[2 * plane + i]!;
  }
  return out;
}

/** File paths of the generated models, absolute. */
export interface TestModels {
  /** pixel_values [1,3,height,width] -> predicted_depth [1,height,width] = mix (Transformers.js naming). */
  readonly passthroughHf: string;
  /** image [1,3,height,width] -> depth [1,height,width] = mix (fabio-sim Depth-Anything-ONNX naming). */
  readonly passthroughFabio: string;
  /** pixel_values [1,3,518,518] -> predicted_depth [1,518,518] = mix. */
  readonly staticHf518: string;
  /** pixel_values [1,3,height,width] -> predicted_depth [1,1,height,width] = mix. */
  readonly output4d: string;
  /** pixel_values [1,3,height,width] -> predicted_depth [1,h2,w2] = 2x2 stride-2 average of mix. */
  readonly downsample2: string;
  /** pixel_values [1,3,height,width] -> predicted_depth [1,height,width] = 20 * sigmoid(mix), metres. */
  readonly metricSigmoid20: string;
  /** Two image inputs (pixel_values, second_image): not a single-image depth model. */
  readonly badTwoInputs: string;
  /** pixel_values is int64. */
  readonly badIntInput: string;
  /** pixel_values [1,1,height,width]: one channel. */
  readonly badOneChannel: string;
  /** predicted_depth [1,2,height,width]: two output channels. */
  readonly badOutputChannels: string;
  /** Bytes that are not an ONNX model, in a file named .onnx. */
  readonly notAModel: string;
  /**
   * A video model: frames [1,T,3,height,width] -> depth [1,T,height,width] = exp(mean of the whole window's input)
   * * mix, per frame. Every window gets its own scale, as a relative video model's windows do.
   */
  readonly videoMix: string;
  /**
   * A batched image model: pixel_values [batch,3,height,width] -> predicted_depth [batch,height,width] =
   * exp(mean of that image's input) * mix. Each image's output depends on the whole image but on no other
   * image of the batch, as a real network's does.
   */
  readonly batchMix: string;
  /** Root to set as Transformers.js `env.localModelPath`. */
  readonly hfLocalModelRoot: string;
  /** Model id under hfLocalModelRoot, for `pipeline('depth-estimation', hfPassthroughModelId)`. */
  readonly hfPassthroughModelId: string;
  /** hfLocalModelRoot/hfPassthroughModelId: config.json, preprocessor_config.json, onnx/model.onnx (passthroughHf). */
  readonly hfPassthroughDir: string;
}

const DYNAMIC_IMAGE: readonly Dim[] = [1, 3, 'height', 'width'];
const DYNAMIC_DEPTH: readonly Dim[] = [1, 'height', 'width'];

/** Adds the 1x1 conv that computes the mix: [1,3,H,W] -> [1,1,H,W]. */
function addMix(g: GraphBuilder, image: string): string {
  const weights = g.weight('mix_weight', [1, 3, 1, 1], Float32Array.from(MIX_WEIGHTS));
  return g.op('Conv', [image, weights], { kernel_shape: [1, 1] });
}

function squeezeChannel(g: GraphBuilder, nchw: string): string {
  return g.op('Squeeze', [nchw, g.constInt64([1], [1], 'channel_axis')]);
}

interface MixModelOptions {
  readonly inputName?: string;
  readonly outputName?: string;
  readonly inputDims?: readonly Dim[];
  readonly outputDims?: readonly Dim[];
}

/** image -> depth = mix, with the given names and declared dims. */
function buildMixModel(options: MixModelOptions = {}): Uint8Array {
  const g = new GraphBuilder({ graphName: 'mix' });
  const image = g.input(options.inputName ?? 'pixel_values', 'float32', options.inputDims ?? DYNAMIC_IMAGE);
  const depth = squeezeChannel(g, addMix(g, image));
  g.output(depth, 'float32', options.outputDims ?? DYNAMIC_DEPTH, options.outputName ?? 'predicted_depth');
  return g.toBytes();
}

function buildOutput4d(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'output4d' });
  const mix = addMix(g, g.input('pixel_values', 'float32', DYNAMIC_IMAGE));
  g.output(mix, 'float32', [1, 1, 'height', 'width'], 'predicted_depth');
  return g.toBytes();
}

function buildDownsample2(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'downsample2' });
  const mix = addMix(g, g.input('pixel_values', 'float32', DYNAMIC_IMAGE));
  const pooled = g.op('AveragePool', [mix], { kernel_shape: [2, 2], strides: [2, 2] });
  g.output(squeezeChannel(g, pooled), 'float32', [1, 'h2', 'w2'], 'predicted_depth');
  return g.toBytes();
}

function buildMetricSigmoid20(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'metric_sigmoid20' });
  const mix = squeezeChannel(g, addMix(g, g.input('pixel_values', 'float32', DYNAMIC_IMAGE)));
  const metres = g.op('Mul', [g.op('Sigmoid', [mix]), g.constFloat([METRIC_MAX_DEPTH_METERS], [], 'max_depth')]);
  g.output(metres, 'float32', DYNAMIC_DEPTH, 'predicted_depth');
  return g.toBytes();
}

function buildBadTwoInputs(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'bad_two_inputs' });
  const first = g.input('pixel_values', 'float32', DYNAMIC_IMAGE);
  const second = g.input('second_image', 'float32', DYNAMIC_IMAGE);
  const sum = g.op('Add', [first, second]);
  g.output(squeezeChannel(g, addMix(g, sum)), 'float32', DYNAMIC_DEPTH, 'predicted_depth');
  return g.toBytes();
}

function buildBadIntInput(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'bad_int_input' });
  const image = g.input('pixel_values', 'int64', DYNAMIC_IMAGE);
  const asFloat = g.op('Cast', [image], { to: 1 /* FLOAT */ });
  g.output(squeezeChannel(g, addMix(g, asFloat)), 'float32', DYNAMIC_DEPTH, 'predicted_depth');
  return g.toBytes();
}

function buildBadOneChannel(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'bad_one_channel' });
  const image = g.input('pixel_values', 'float32', [1, 1, 'height', 'width']);
  g.output(squeezeChannel(g, image), 'float32', DYNAMIC_DEPTH, 'predicted_depth');
  return g.toBytes();
}

function buildBadOutputChannels(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'bad_output_channels' });
  const image = g.input('pixel_values', 'float32', DYNAMIC_IMAGE);
  // Channel 0 is the mix, channel 1 its negation: two depth-like planes.
  const weights = g.weight('two_channel_weight', [2, 3, 1, 1], Float32Array.from([...MIX_WEIGHTS, ...MIX_WEIGHTS.map((w) => -w)]));
  const out = g.op('Conv', [image, weights], { kernel_shape: [1, 1] });
  g.output(out, 'float32', [1, 2, 'height', 'width'], 'predicted_depth');
  return g.toBytes();
}

function buildVideoMix(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'video_mix' });
  const frames = g.input('frames', 'float32', [1, 'T', 3, 'height', 'width']);
  const weighted = g.op('Mul', [frames, g.constFloat(Float32Array.from(MIX_WEIGHTS), [1, 1, 3, 1, 1], 'mix_weights')]);
  const mix = g.op('ReduceSum', [weighted, g.constInt64([2], [1], 'channel_axis')], { keepdims: 0 });
  const windowScale = g.op('Exp', [g.op('ReduceMean', [frames], { keepdims: 0 })]);
  g.output(g.op('Mul', [mix, windowScale]), 'float32', [1, 'T', 'height', 'width'], 'depth');
  return g.toBytes();
}

function buildBatchMix(): Uint8Array {
  const g = new GraphBuilder({ graphName: 'batch_mix' });
  const image = g.input('pixel_values', 'float32', ['batch', 3, 'height', 'width']);
  const mix = squeezeChannel(g, addMix(g, image));
  // [batch,1,1,1] -> [batch,1,1]: one scale per image, broadcast over its height and width.
  const imageMean = g.op('ReduceMean', [image], { axes: [1, 2, 3], keepdims: 1 });
  const imageScale = squeezeChannel(g, g.op('Exp', [imageMean]));
  g.output(g.op('Mul', [mix, imageScale]), 'float32', ['batch', 'height', 'width'], 'predicted_depth');
  return g.toBytes();
}

/** The config.json of onnx-community/depth-anything-v2-small (= depth-anything/Depth-Anything-V2-Small-hf). */
export const DEPTH_ANYTHING_V2_SMALL_CONFIG = {
  _name_or_path: 'depth-anything/Depth-Anything-V2-Small-hf',
  architectures: ['DepthAnythingForDepthEstimation'],
  backbone: null,
  backbone_config: {
    architectures: ['Dinov2Model'],
    hidden_size: 384,
    image_size: 518,
    model_type: 'dinov2',
    num_attention_heads: 6,
    out_features: ['stage3', 'stage6', 'stage9', 'stage12'],
    out_indices: [3, 6, 9, 12],
    patch_size: 14,
    reshape_hidden_states: false,
    torch_dtype: 'float32',
  },
  fusion_hidden_size: 64,
  head_hidden_size: 32,
  head_in_index: -1,
  initializer_range: 0.02,
  model_type: 'depth_anything',
  neck_hidden_sizes: [48, 96, 192, 384],
  patch_size: 14,
  reassemble_factors: [4, 2, 1, 0.5],
  reassemble_hidden_size: 384,
  torch_dtype: 'float32',
  transformers_version: null,
  use_pretrained_backbone: false,
} as const;

/** The preprocessor_config.json shared by the Depth Anything (V1/V2) onnx-community exports. */
export const DEPTH_ANYTHING_PREPROCESSOR_CONFIG = {
  do_normalize: true,
  do_pad: false,
  do_rescale: true,
  do_resize: true,
  ensure_multiple_of: 14,
  image_mean: [0.485, 0.456, 0.406],
  image_processor_type: 'DPTImageProcessor',
  image_std: [0.229, 0.224, 0.225],
  keep_aspect_ratio: true,
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { height: 518, width: 518 },
  size_divisor: null,
} as const;

/** Writes `bytes` unless the file already holds exactly them; atomic so parallel test files can race. */
export async function writeIfChanged(filePath: string, bytes: Uint8Array | string): Promise<void> {
  const wanted = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const existing = await readFile(filePath).catch(() => undefined);
  if (existing !== undefined && existing.equals(wanted)) return;
  await mkdir(path.dirname(filePath), { recursive: true });
  const temp = `${filePath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temp, wanted);
  await rename(temp, filePath);
}

/** Lays out a Transformers.js local model folder like onnx-community/depth-anything-v2-small. */
export async function writeHfModelFolder(folder: string, modelBytes: Uint8Array): Promise<void> {
  await writeIfChanged(path.join(folder, 'config.json'), `${JSON.stringify(DEPTH_ANYTHING_V2_SMALL_CONFIG, null, 2)}\n`);
  await writeIfChanged(
    path.join(folder, 'preprocessor_config.json'),
    `${JSON.stringify(DEPTH_ANYTHING_PREPROCESSOR_CONFIG, null, 2)}\n`,
  );
  await writeIfChanged(path.join(folder, 'onnx', 'model.onnx'), modelBytes);
}

type ModelFileName = Exclude<keyof TestModels, 'hfLocalModelRoot' | 'hfPassthroughModelId' | 'hfPassthroughDir'>;

function buildAll(): Record<ModelFileName, Uint8Array> {
  return {
    passthroughHf: buildMixModel(),
    passthroughFabio: buildMixModel({ inputName: 'image', outputName: 'depth' }),
    staticHf518: buildMixModel({ inputDims: [1, 3, 518, 518], outputDims: [1, 518, 518] }),
    output4d: buildOutput4d(),
    downsample2: buildDownsample2(),
    metricSigmoid20: buildMetricSigmoid20(),
    badTwoInputs: buildBadTwoInputs(),
    badIntInput: buildBadIntInput(),
    badOneChannel: buildBadOneChannel(),
    badOutputChannels: buildBadOutputChannels(),
    notAModel: new TextEncoder().encode('This is a text file, not an ONNX model.\n'),
    videoMix: buildVideoMix(),
    batchMix: buildBatchMix(),
  };
}

const HF_PASSTHROUGH_ID = 'depth-passthrough';

/**
 * Writes every test model (only files that are missing or stale) and returns their absolute paths.
 * `dir` holds the .onnx files; `hfRoot` holds Transformers.js model folders.
 */
export async function ensureTestModels(
  dir: string = path.join(GENERATED_DIR, 'models'),
  hfRoot: string = path.join(GENERATED_DIR, 'hf'),
): Promise<TestModels> {
  const built = buildAll();
  const names = Object.keys(built) as ModelFileName[];
  const paths = Object.fromEntries(names.map((name) => [name, path.resolve(dir, `${name}.onnx`)])) as Record<ModelFileName, string>;
  await Promise.all(names.map((name) => writeIfChanged(paths[name], built[name])));
  const hfPassthroughDir = path.resolve(hfRoot, HF_PASSTHROUGH_ID);
  await writeHfModelFolder(hfPassthroughDir, built.passthroughHf);
  await ensureDa3MultiviewTestGraphs(dir);
  return { ...paths, hfLocalModelRoot: path.resolve(hfRoot), hfPassthroughModelId: HF_PASSTHROUGH_ID, hfPassthroughDir };
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMainModule()) {
  const models = await ensureTestModels();
  for (const [name, file] of Object.entries(models)) console.log(`${name.padEnd(20)} ${file}`);
}
