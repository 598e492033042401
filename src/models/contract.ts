/**
 * Input/output contract detection for depth models: which input takes the image, which output is the
 * depth map, their element types, and whether the network size is fixed. Every way a file can fail to be
 * a depth model is a ModelError that names the file and says what was expected.
 */
import { ModelError } from '../core/errors.ts';
import type { DeclaredDim, ModelSession, Tensor, TensorInfo } from './backend.ts';
import type { DepthModelSpec, TensorContract } from './model-spec.ts';

export type ImageInputDType = 'float32' | 'float16';

export interface DepthContract {
  readonly modelPath: string;
  readonly inputName: string;
  /** The declared element type; float32 data is converted for float16 inputs by the backend. */
  readonly inputDType: ImageInputDType;
  readonly outputName: string;
  readonly outputDType: string;
  /** 'nhw' for [1,H,W], 'n1hw' for [1,1,H,W], 'unknown' when the model declares no output shape. */
  readonly outputLayout: 'nhw' | 'n1hw' | 'unknown';
  /**
   * Set when the model fixes the network input size: the image must then be resized to exactly this
   * (the spec's size rule does not apply). Absent for dynamic height and width.
   */
  readonly staticInput: { readonly width: number; readonly height: number } | undefined;
  /** Where the names came from: the registry spec (or the file's own entry) or detection on the file. */
  readonly namesFrom: 'spec' | 'file';
  /**
   * 'dynamic' when the file declares a symbolic batch dimension on both the image input and the depth output,
   * so that one run can take several images (runDepthModelBatch); 'one' otherwise, an undeclared shape
   * included (the file does not promise more than one).
   */
  readonly batch: BatchDimension;
}

export type BatchDimension = 'dynamic' | 'one';

const IMAGE_DTYPES: readonly string[] = ['float32', 'float16'];
const DEPTH_OUTPUT_DTYPES: readonly string[] = ['float32', 'float16', 'float64'];
/** Output names preferred when a model has several depth-shaped outputs (DA3 exports add `sky`). */
const PREFERRED_OUTPUT_NAMES: readonly string[] = ['predicted_depth', 'depth', 'output', 'disparity'];

function formatDims(dims: readonly DeclaredDim[] | undefined): string {
  return dims === undefined ? 'no declared shape' : `[${dims.map((d) => (d === undefined ? '?' : String(d))).join(', ')}]`;
}

function describe(info: TensorInfo): string {
  return `"${info.name}" ${info.dtype} ${formatDims(info.dims)}`;
}

const EXPECTED_INPUT = 'one float32 or float16 image input shaped [1, 3, height, width]';
const EXPECTED_OUTPUT = 'a depth output shaped [1, height, width] or [1, 1, height, width]';

/** Why an input cannot be the image input, or undefined when it can. */
function imageInputProblem(info: TensorInfo): string | undefined {
  if (!IMAGE_DTYPES.includes(info.dtype)) return `input ${describe(info)} has element type ${info.dtype}`;
  const dims = info.dims;
  if (dims === undefined) return undefined; // undeclared: accepted, checked by the runtime
  if (dims.length !== 4) return `input ${describe(info)} has rank ${dims.length}`;
  const [batch, channels] = dims;
  if (typeof channels === 'number' && channels !== 3) return `input ${describe(info)} has ${channels} channel${channels === 1 ? '' : 's'} at dim 1 (expected 3, RGB)`;
  if (typeof batch === 'number' && batch !== 1) return `input ${describe(info)} has a fixed batch of ${batch}`;
  return undefined;
}

/** Why an output cannot be the depth output, or undefined when it can. */
function depthOutputProblem(info: TensorInfo): string | undefined {
  if (!DEPTH_OUTPUT_DTYPES.includes(info.dtype)) return `output ${describe(info)} has element type ${info.dtype}`;
  const dims = info.dims;
  if (dims === undefined) return undefined;
  if (dims.length === 3) {
    return typeof dims[0] === 'number' && dims[0] !== 1 ? `output ${describe(info)} has a fixed batch of ${dims[0]}` : undefined;
  }
  if (dims.length === 4) {
    const channels = dims[1];
    if (typeof channels === 'number' && channels !== 1) return `output ${describe(info)} has ${channels} channels at dim 1 (expected 1)`;
    return typeof dims[0] === 'number' && dims[0] !== 1 ? `output ${describe(info)} has a fixed batch of ${dims[0]}` : undefined;
  }
  return `output ${describe(info)} has rank ${dims.length}`;
}

function pickInput(session: Pick<ModelSession, 'modelPath' | 'inputs'>, names: TensorContract | undefined): { info: TensorInfo; fromSpec: boolean } {
  const file = session.modelPath;
  const inputs = session.inputs;
  if (inputs.length === 0) throw new ModelError(`the model has no inputs; expected ${EXPECTED_INPUT}.`, { file });
  const named = names !== undefined ? inputs.find((input) => input.name === names.inputName) : undefined;
  if (inputs.length > 1) {
    const imageLike = inputs.filter((input) => imageInputProblem(input) === undefined);
    const list = inputs.map(describe).join(', ');
    if (imageLike.length > 1) {
      throw new ModelError(`the model has ${imageLike.length} image-like inputs (${list}); expected ${EXPECTED_INPUT} and nothing else.`, { file });
    }
    throw new ModelError(`the model has ${inputs.length} inputs (${list}); expected ${EXPECTED_INPUT} and nothing else.`, { file });
  }
  const info = named ?? inputs[0]!;
  const problem = imageInputProblem(info);
  if (problem !== undefined) throw new ModelError(`${problem}; expected ${EXPECTED_INPUT}.`, { file });
  return { info, fromSpec: named !== undefined };
}

function pickOutput(session: Pick<ModelSession, 'modelPath' | 'outputs'>, names: TensorContract | undefined): { info: TensorInfo; fromSpec: boolean } {
  const file = session.modelPath;
  const outputs = session.outputs;
  if (outputs.length === 0) throw new ModelError(`the model has no outputs; expected ${EXPECTED_OUTPUT}.`, { file });
  const named = names !== undefined ? outputs.find((output) => output.name === names.outputName) : undefined;
  if (named !== undefined) {
    const problem = depthOutputProblem(named);
    if (problem !== undefined) throw new ModelError(`${problem}; expected ${EXPECTED_OUTPUT}.`, { file });
    return { info: named, fromSpec: true };
  }
  const candidates = outputs.filter((output) => depthOutputProblem(output) === undefined);
  if (candidates.length === 0) {
    const problems = outputs.map((output) => depthOutputProblem(output)!).join('; ');
    throw new ModelError(`${problems}; expected ${EXPECTED_OUTPUT}.`, { file });
  }
  if (candidates.length === 1) return { info: candidates[0]!, fromSpec: false };
  for (const preferred of PREFERRED_OUTPUT_NAMES) {
    const match = candidates.find((output) => output.name === preferred);
    if (match !== undefined) return { info: match, fromSpec: false };
  }
  throw new ModelError(`the model has ${candidates.length} outputs that could be the depth map (${candidates.map(describe).join(', ')}) `
    + `and none is named ${PREFERRED_OUTPUT_NAMES.join(' / ')}; expected ${EXPECTED_OUTPUT}.`, { file });
}

/** A declared, symbolic (or -1) leading dimension: the model takes any batch. */
function hasDynamicBatch(info: TensorInfo): boolean {
  const first = info.dims?.[0];
  return info.dims !== undefined && info.dims.length > 0 && typeof first !== 'number';
}

function staticInputOf(file: string, info: TensorInfo): DepthContract['staticInput'] {
  const dims = info.dims;
  if (dims === undefined) return undefined;
  const height = dims[2];
  const width = dims[3];
  const heightFixed = typeof height === 'number';
  const widthFixed = typeof width === 'number';
  if (heightFixed && widthFixed) return { width, height };
  if (heightFixed !== widthFixed) {
    throw new ModelError(`input ${describe(info)} fixes only one of height and width; expected both fixed or both dynamic.`, { file });
  }
  return undefined;
}

/**
 * Detects a depth model's contract. Names come from `names` (the registry file's or spec's contract) when the
 * file has them, else from the file itself; either way the shapes and types are checked.
 */
export function detectDepthContract(
  session: Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'>,
  spec?: DepthModelSpec | { readonly contract: TensorContract },
): DepthContract {
  const names = spec?.contract;
  const input = pickInput(session, names);
  const output = pickOutput(session, names);
  const dims = output.info.dims;
  const outputLayout = dims === undefined ? 'unknown' : dims.length === 4 ? 'n1hw' : 'nhw';
  const staticInput = staticInputOf(session.modelPath, input.info);
  return {
    modelPath: session.modelPath,
    inputName: input.info.name,
    inputDType: input.info.dtype as ImageInputDType,
    outputName: output.info.name,
    outputDType: output.info.dtype,
    outputLayout,
    staticInput,
    namesFrom: input.fromSpec && output.fromSpec ? 'spec' : 'file',
    batch: hasDynamicBatch(input.info) && hasDynamicBatch(output.info) ? 'dynamic' : 'one',
  };
}

export interface DepthPlane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** The single depth plane of a run's output tensor ([1,H,W], [1,1,H,W] or [H,W]); ModelError otherwise. */
export function depthPlaneFromOutput(contract: DepthContract, outputs: Readonly<Record<string, Tensor>>): DepthPlane {
  const tensor = outputs[contract.outputName];
  const file = contract.modelPath;
  if (tensor === undefined) throw new ModelError(`the run produced no output "${contract.outputName}".`, { file });
  if (tensor.dtype !== 'float32') throw new ModelError(`output "${contract.outputName}" is ${tensor.dtype}; expected float32.`, { file });
  const dims = tensor.dims;
  const leading = dims.slice(0, -2);
  if (dims.length < 2 || dims.length > 4 || leading.some((d) => d !== 1)) {
    throw new ModelError(`output "${contract.outputName}" has shape [${dims.join(', ')}]; ${EXPECTED_OUTPUT}.`, { file });
  }
  const height = dims[dims.length - 2]!;
  const width = dims[dims.length - 1]!;
  return { width, height, data: tensor.data as Float32Array };
}

/**
 * The `count` depth planes of a batched run's output ([N,H,W] or [N,1,H,W]), each its own copy (a frame's depth
 * then does not keep the whole batch alive);
 * ModelError when the shape does not hold `count` planes.
 */
export function depthPlanesFromOutput(contract: DepthContract, outputs: Readonly<Record<string, Tensor>>, count: number): DepthPlane[] {
  const tensor = outputs[contract.outputName];
  const file = contract.modelPath;
  if (tensor === undefined) throw new ModelError(`the run produced no output "${contract.outputName}".`, { file });
  if (tensor.dtype !== 'float32') throw new ModelError(`output "${contract.outputName}" is ${tensor.dtype}; expected float32.`, { file });
  const dims = tensor.dims;
  if (!((dims.length === 3 && dims[0] === count) || (dims.length === 4 && dims[0] === count && dims[1] === 1))) {
    throw new ModelError(`output "${contract.outputName}" has shape [${dims.join(', ')}] for a batch of ${count}; expected [${count}, height, width] or [${count}, 1, height, width].`, { file });
  }
  const height = dims[dims.length - 2]!;
  const width = dims[dims.length - 1]!;
  const data = tensor.data as Float32Array;
  const plane = width * height;
  return Array.from({ length: count }, (_, n) => ({ width, height, data: data.slice(n * plane, (n + 1) * plane) }));
}
