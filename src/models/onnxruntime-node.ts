/**
 * InferenceBackend on onnxruntime-node (1.30). Sessions are cached per (file, options) and released by dispose().
 *
 * How ORT node exposes a model's interface: `session.inputMetadata` / `outputMetadata` are arrays of
 * `{ name, isTensor, type, shape }`. `type` is an ONNX type name ('float32', 'float16', 'int64', ...),
 * `shape` holds numbers for fixed dims and the symbolic name for dynamic ones (the empty string when the
 * dim has no name), and is `[]` when the model declares no shape. Non-tensor values have `isTensor: false`.
 *
 * Devices: the npm package bundles the CPU EP only; the CUDA EP is a separate shared library that its
 * postinstall downloads. 'cuda' and 'auto' look for that library before asking ORT for it.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';
import type { RunContext } from '../core/context.ts';
import { BackendError, InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import type {
  DTypeArrayMap, DeclaredDim, ExecutionDevice, InferenceBackend, ModelSession, SessionOptions, Tensor, TensorDType, TensorInfo,
} from './backend.ts';
import { startOrtWorker, type OrtWorker, type RawSession, type RawTensor } from './ort-worker.ts';

type Ort = typeof OrtTypes;
type OrtSession = OrtTypes.InferenceSession;
type OrtTensor = OrtTypes.Tensor;

let ortPromise: Promise<Ort> | undefined;

/** Loads onnxruntime-node on first use, so importing models/ does not load the native binding. */
async function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((module) => ((module as unknown as { default?: Ort }).default ?? module) as Ort);
  return ortPromise;
}

export interface CudaAvailability {
  readonly available: boolean;
  /** Why not, in words a user can act on. */
  readonly reason?: string;
}

let cudaAvailabilityCache: CudaAvailability | undefined;

/** Whether onnxruntime-node's CUDA execution provider library is installed next to the binding (checked once). */
export function cudaAvailability(): CudaAvailability {
  cudaAvailabilityCache ??= probeCudaAvailability();
  return cudaAvailabilityCache;
}

function probeCudaAvailability(): CudaAvailability {
  let binDir: string;
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('onnxruntime-node');
    binDir = path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch (error) {
    return { available: false, reason: `onnxruntime-node could not be located (${(error as Error).message})` };
  }
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (existsSync(path.join(binDir, library))) return { available: true };
  return {
    available: false,
    reason: `onnxruntime-node's CUDA execution provider is not installed (${library} is missing from ${binDir}). `
      + 'It is downloaded by the package\'s install script on linux/x64 (unless ONNXRUNTIME_NODE_INSTALL=skip); '
      + 'reinstall onnxruntime-node with network access and CUDA 12 present, or use --device cpu.',
  };
}

function sessionKey(modelPath: string, device: ExecutionDevice | 'auto', threads: number | undefined): string {
  return JSON.stringify([modelPath, device, threads ?? null]);
}

const ORT_TO_OUR_DTYPE: Readonly<Record<string, TensorDType>> = {
  float32: 'float32', float16: 'float16', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', bool: 'bool',
};

/** Converts float32 values to IEEE half-float bit patterns (round to nearest even). */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && (half & 1) !== 0)) half += 1;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half += 1;
    out[i] = sign | half;
  }
  return out;
}

/** Converts IEEE half-float bit patterns to float32 values. */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function toDeclaredDims(shape: readonly (number | string)[]): readonly DeclaredDim[] | undefined {
  // ORT reports [] both for "no declared shape" and for scalars; neither is a usable image/depth shape.
  if (shape.length === 0) return undefined;
  return shape.map((dim) => (typeof dim === 'number' ? dim : dim === '' ? undefined : dim));
}

function toTensorInfo(meta: OrtTypes.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, dtype: 'unknown', dims: undefined };
  return { name: meta.name, dtype: String(meta.type), dims: toDeclaredDims(meta.shape as readonly (number | string)[]) };
}

function toRawTensor(name: string, tensor: Tensor, declared: TensorInfo | undefined): RawTensor {
  let dtype: TensorDType = tensor.dtype;
  let data: DTypeArrayMap[TensorDType] = tensor.data;
  if (declared?.dtype === 'float16' && dtype === 'float32') {
    data = float32ToFloat16Bits(data as Float32Array);
    dtype = 'float16';
  } else if (declared?.dtype === 'float32' && dtype === 'float16') {
    data = float16BitsToFloat32(data as Uint16Array);
    dtype = 'float32';
  }
  const expected = tensor.dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new InputError(`Tensor "${name}" has ${data.length} values but dims [${tensor.dims.join(', ')}] need ${expected}.`);
  }
  // ORT carries float16 as Uint16Array (no Float16Array in Node 20) and bool as Uint8Array.
  return { type: dtype, data, dims: tensor.dims };
}

function fromRawTensor(modelPath: string, name: string, value: RawTensor): Tensor {
  const dims = [...value.dims];
  const type = String(value.type);
  if (type === 'float16') {
    const raw = value.data as unknown as ArrayLike<number>;
    const bits = raw instanceof Uint16Array ? raw : Uint16Array.from(float32Bits16(raw));
    return { dtype: 'float32', dims, data: float16BitsToFloat32(bits) };
  }
  if (type === 'float64') return { dtype: 'float32', dims, data: Float32Array.from(value.data as Float64Array) };
  const dtype = ORT_TO_OUR_DTYPE[type];
  if (dtype === undefined) {
    throw new BackendError(`output "${name}" has element type ${type}, which the toolkit does not read.`, { file: modelPath });
  }
  return { dtype, dims, data: value.data as DTypeArrayMap[typeof dtype] } as Tensor;
}

/** A Float16Array (Node >= 24) read as numbers; converted back to bit patterns. */
function float32Bits16(values: ArrayLike<number>): Uint16Array {
  return float32ToFloat16Bits(Float32Array.from(values as ArrayLike<number>));
}

function inProcessSession(ort: Ort, session: OrtSession): RawSession {
  return {
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    async run(feeds) {
      const tensors: Record<string, OrtTensor> = {};
      for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.type as never, t.data as never, [...t.dims]);
      return (await session.run(tensors)) as unknown as Record<string, RawTensor>;
    },
    release: () => session.release(),
  };
}

class OrtModelSession implements ModelSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  released = false;

  constructor(
    private readonly session: RawSession,
    readonly modelPath: string,
    readonly device: ExecutionDevice,
  ) {
    this.inputs = Object.freeze(session.inputMetadata.map(toTensorInfo));
    this.outputs = Object.freeze(session.outputMetadata.map(toTensorInfo));
  }

  async run(feeds: Readonly<Record<string, Tensor>>, context: RunContext = {}): Promise<Record<string, Tensor>> {
    throwIfAborted(context.signal);
    if (this.released) throw new BackendError('session was released (backend disposed).', { file: this.modelPath });
    const expected = this.inputs.map((input) => input.name);
    const given = Object.keys(feeds);
    const missing = expected.filter((name) => !given.includes(name));
    const unknown = given.filter((name) => !expected.includes(name));
    if (missing.length > 0 || unknown.length > 0) {
      throw new ModelError(`the model takes inputs [${expected.join(', ')}] but was given [${given.join(', ')}].`, { file: this.modelPath });
    }
    const ortFeeds: Record<string, RawTensor> = {};
    for (const input of this.inputs) ortFeeds[input.name] = toRawTensor(input.name, feeds[input.name]!, input);
    let results: Record<string, RawTensor>;
    try {
      results = await this.session.run(ortFeeds);
    } catch (error) {
      throw new BackendError(`onnxruntime failed to run the model: ${(error as Error).message}`, { file: this.modelPath, cause: error });
    }
    throwIfAborted(context.signal);
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) out[name] = fromRawTensor(this.modelPath, name, value);
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

export interface OnnxRuntimeNodeBackendOptions {
  /** Where debug/info messages (device fallback) go. */
  readonly log?: RunContext['log'];
  /**
   * 'worker': sessions run in a worker thread (models/ort-worker.ts), so a caller that starts a run before
   * awaiting it keeps working meanwhile; 'main' (default): on the calling thread.
   */
  readonly sessionThread?: 'main' | 'worker';
}

/** The onnxruntime-node backend. */
export function createOnnxRuntimeNodeBackend(backendOptions: OnnxRuntimeNodeBackendOptions = {}): InferenceBackend {
  const sessions = new Map<string, Promise<OrtModelSession>>();
  const log = backendOptions.log;
  let worker: OrtWorker | undefined;

  async function createSession(modelPath: string, device: ExecutionDevice, threads: number | undefined): Promise<OrtModelSession> {
    const options: OrtTypes.InferenceSession.SessionOptions = {
      executionProviders: [device],
      graphOptimizationLevel: 'all',
      // ORT's pool threads spin for tens of ms after each run by default (~65 ms of CPU measured here), stealing
      // the cores from the pre/postprocessing around the run; stop them when a run ends. Inference speed is the same.
      extra: { session: { force_spinning_stop: '1' } },
      ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
    };
    if (backendOptions.sessionThread === 'worker') {
      worker ??= startOrtWorker();
      return new OrtModelSession(await worker.open(modelPath, options), modelPath, device);
    }
    const ort = await loadOrt();
    return new OrtModelSession(inProcessSession(ort, await ort.InferenceSession.create(modelPath, options)), modelPath, device);
  }

  async function openUncached(modelPath: string, device: ExecutionDevice | 'auto', threads: number | undefined): Promise<OrtModelSession> {
    let stats;
    try {
      stats = statSync(modelPath);
    } catch {
      throw new ModelError('model file not found.', { file: modelPath });
    }
    if (!stats.isFile()) throw new ModelError('model path is not a file.', { file: modelPath });

    if (device === 'cuda' || device === 'auto') {
      const cuda = cudaAvailability();
      if (cuda.available) {
        try {
          return await createSession(modelPath, 'cuda', threads);
        } catch (error) {
          if (device === 'cuda') {
            throw new BackendError(`could not open the model on CUDA: ${(error as Error).message}. Use --device cpu to run on the CPU.`,
              { file: modelPath, cause: error });
          }
          log?.info(`CUDA could not run ${path.basename(modelPath)} (${(error as Error).message}); using the CPU.`);
        }
      } else if (device === 'cuda') {
        throw new BackendError(`device 'cuda' was requested but ${cuda.reason}`);
      } else {
        log?.debug(`device auto: ${cuda.reason} Using the CPU.`);
      }
    }
    try {
      return await createSession(modelPath, 'cpu', threads);
    } catch (error) {
      const message = (error as Error).message;
      throw new ModelError(`${modelPath} is not a valid ONNX model that onnxruntime can load `
        + `(onnxruntime: ${message.replace(/\s+/g, ' ').trim()}).`, { file: modelPath, cause: error });
    }
  }

  return {
    name: 'onnxruntime-node',
    async open(modelPath: string, options: SessionOptions = {}): Promise<ModelSession> {
      const resolved = path.resolve(modelPath);
      const device = options.device ?? 'auto';
      const threads = options.intraOpThreads;
      if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') {
        throw new InputError(`Unknown device "${String(device)}". Should be one of: auto, cpu, cuda.`);
      }
      if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
        throw new InputError(`intraOpThreads (${threads}) must be a positive integer.`);
      }
      const key = sessionKey(resolved, device, threads);
      let pending = sessions.get(key);
      if (pending === undefined) {
        pending = openUncached(resolved, device, threads);
        sessions.set(key, pending);
        pending.catch(() => sessions.delete(key));
      }
      return pending;
    },
    async dispose(): Promise<void> {
      const pending = [...sessions.values()];
      sessions.clear();
      const settled = await Promise.allSettled(pending);
      for (const result of settled) {
        if (result.status === 'fulfilled') await result.value.release();
      }
      await worker?.terminate();
      worker = undefined;
    },
  };
}
