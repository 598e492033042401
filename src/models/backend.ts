/**
 * The inference seam: every runtime (onnxruntime-node, onnxruntime-web, a test double) implements
 * InferenceBackend, and callers pass the backend in. Tensors never leave models/: adapters return core types.
 */
import type { RunContext } from '../core/context.ts';

export interface DTypeArrayMap {
  float32: Float32Array;
  /** IEEE half floats carried as raw 16-bit patterns. */
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  bool: Uint8Array;
}
export type TensorDType = keyof DTypeArrayMap;

export interface Tensor<TDType extends TensorDType = TensorDType> {
  readonly dtype: TDType;
  /** Row-major dims, outermost first (NCHW for images). */
  readonly dims: readonly number[];
  readonly data: DTypeArrayMap[TDType];
}

/** A dimension as a model declares it: a fixed size, or a symbolic name / undefined when dynamic. */
export type DeclaredDim = number | string | undefined;

export interface TensorInfo {
  readonly name: string;
  /** Element type as the model declares it (an ONNX type name such as 'float32'), or 'unknown'. */
  readonly dtype: string;
  /** Declared shape; undefined when the model does not declare one. */
  readonly dims: readonly DeclaredDim[] | undefined;
}

export type ExecutionDevice = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Threads for one operator; default: the runtime's choice (all cores). */
  readonly intraOpThreads?: number;
  /** 'auto' tries CUDA when the runtime has it, then the CPU. */
  readonly device?: ExecutionDevice | 'auto';
}

export interface ModelSession {
  readonly modelPath: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** The device the session actually runs on. */
  readonly device: ExecutionDevice;
  run(feeds: Readonly<Record<string, Tensor>>, context?: RunContext): Promise<Record<string, Tensor>>;
}

export interface InferenceBackend {
  readonly name: string;
  /** Opens (or returns the cached) session for a model file; sessions live until dispose(). */
  open(modelPath: string, options?: SessionOptions): Promise<ModelSession>;
  /** Releases every session; idempotent. */
  dispose(): Promise<void>;
}
