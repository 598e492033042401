/**
 * Mutual-nearest-neighbour descriptor matching on onnxruntime: the production matcher.
 *
 * Why ORT: matching 4096 x 4096 XFeat descriptors (64-D) is 1.07 GMAC per image pair, and a 20-view set has 190
 * pairs. A tight JavaScript kernel (src/geometry/match.ts, the reference) needs about 1.4 s per pair on one core
 * here, while onnxruntime's sgemm and two reductions do the same in tens of milliseconds (bench/match-bench.ts
 * measures both). The graph is tiny and built here, by hand, as protobuf bytes (onnx-proto, which tools/ uses,
 * is a devDependency, and the graph needs only a few dozen fields):
 *
 *   similarity               = Gemm(descriptors0 [n0, d], descriptors1 [n1, d], transB = 1)  -> [n0, n1]
 *   rowBest, rowBestIndex    = TopK(similarity, k = [1], axis = 1)                          -> [n0, 1] x2
 *   columnBest               = ReduceMax(similarity, axes = [0], keepdims = 0)              -> [n1]
 *
 * Why not ArgMax along both axes: ORT's ArgMax over axis 0 walks the 64 MB matrix column by column and costs
 * about three times the sgemm, while ReduceMax over axis 0 is vectorised. Mutuality then needs no column index:
 * i and j = rowBestIndex[i] are mutual nearest neighbours exactly when rowBest[i] equals columnBest[j] (both are
 * copies of the same float32 entry). Ties: TopK keeps the lowest index, as torch.max does; if several rows hold
 * exactly the column maximum, the first one whose own best is that column gets the match (torch would give the
 * column to the first row holding the maximum whatever that row's own best is: exact float ties between different
 * descriptors only, so the two differ only in that degenerate case).
 * The similarity reported for a match is the float64 dot product of the two descriptors, computed here, so
 * thresholds do not depend on sgemm rounding.
 *
 * The types below are structurally those of src/geometry/features.ts (ImageFeatures, Matches), which the models
 * layer may not import: values pass between the layers unchanged.
 */
import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import { InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { ExecutionDevice, InferenceBackend, ModelSession, Tensor } from './backend.ts';

/** Row-major L2-normalised descriptors (ImageFeatures fits). */
export interface DescriptorSet {
  readonly count: number;
  readonly descriptorSize: number;
  /** count * descriptorSize values, one row per keypoint. */
  readonly descriptors: Float32Array;
}

/** Correspondences, structurally geometry's Matches. */
export interface DescriptorMatches {
  readonly count: number;
  readonly indices0: Uint32Array;
  readonly indices1: Uint32Array;
  /** Cosine similarity per match. */
  readonly similarity: Float32Array;
}

export interface MutualMatchOptions {
  /**
   * Keep a mutual match only when its similarity is strictly above this (XFeat's `match()` uses 0.82).
   * Default: no threshold (every mutual nearest neighbour), as XFeat's `match_xfeat` does.
   */
  readonly minSimilarity?: number;
}

/** The cosine threshold XFeat's own `match()` applies by default. */
export const XFEAT_MIN_SIMILARITY = 0.82;

export interface MutualNearestMatcher {
  /** Mutual nearest neighbours of two descriptor sets on cosine similarity, ordered by index in the first set. */
  match(a: DescriptorSet, b: DescriptorSet, options?: MutualMatchOptions, context?: RunContext): Promise<DescriptorMatches>;
}

export interface MatcherSessionOptions {
  /** Where the generated graph file is written (once, content-addressed). Default: the OS temporary folder. */
  readonly scratchDir?: string;
  readonly device?: ExecutionDevice | 'auto';
  readonly intraOpThreads?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf writing: just what ModelProto needs (varints and length-delimited fields).

/** Bytes of a protobuf message under construction. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  /** A varint-encoded non-negative integer (safe integers only; ONNX fields here are small). */
  private varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }

  private tag(field: number, wireType: 0 | 2): void {
    this.varint(field * 8 + wireType);
  }

  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.message(field, new TextEncoder().encode(value));
  }

  message(field: number, payload: Uint8Array): this {
    this.tag(field, 2);
    this.varint(payload.length);
    for (const byte of payload) this.bytes.push(byte);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** onnx.proto TensorProto.DataType values used here. */
const ONNX_FLOAT = 1;
const ONNX_INT64 = 7;
/** onnx.proto AttributeProto.AttributeType values. */
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** ValueInfoProto of a tensor with symbolic (string) or fixed (number) dims. */
function valueInfo(name: string, elemType: number, dims: readonly (string | number)[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const dim of dims) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.int(1, dim); // dim_value
    else d.string(2, dim); // dim_param
    shape.message(1, d.finish());
  }
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape.finish()).finish(); // elem_type, shape
  const type = new ProtoWriter().message(1, tensorType).finish(); // TypeProto.tensor_type
  return new ProtoWriter().string(1, name).message(2, type).finish();
}

/** NodeProto with integer (number) and integer-list (number[]) attributes. */
function node(
  opType: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, number | readonly number[]>>,
): Uint8Array {
  const w = new ProtoWriter();
  for (const input of inputs) w.string(1, input);
  for (const output of outputs) w.string(2, output);
  w.string(3, name).string(4, opType);
  for (const [key, value] of Object.entries(attributes)) {
    const attribute = new ProtoWriter().string(1, key);
    if (typeof value === 'number') attribute.int(3, value).int(20, ATTRIBUTE_INT); // i, type
    else {
      for (const v of value) attribute.int(8, v); // ints (unpacked repeated int64)
      attribute.int(20, ATTRIBUTE_INTS);
    }
    w.message(5, attribute.finish());
  }
  return w.finish();
}

/** Graph input names: the two descriptor matrices and TopK's k (always [1]). */
export const MATCHER_INPUTS = ['descriptors0', 'descriptors1', 'k'] as const;
/** Graph output names, in order. */
export const MATCHER_OUTPUTS = ['rowBest', 'rowBestIndex', 'columnBest'] as const;

/** The ONNX model (opset 17, IR 8) of the similarity + row TopK + column max graph described in the file header. */
export function buildMutualNearestGraph(): Uint8Array {
  const [d0, d1, k] = MATCHER_INPUTS;
  const [rowBest, rowBestIndex, columnBest] = MATCHER_OUTPUTS;
  const graph = new ProtoWriter()
    .message(1, node('Gemm', 'similarity_gemm', [d0, d1], ['similarity'], { transB: 1 }))
    .message(1, node('TopK', 'row_best', ['similarity', k], [rowBest, rowBestIndex], { axis: 1 }))
    .message(1, node('ReduceMax', 'column_best', ['similarity'], [columnBest], { axes: [0], keepdims: 0 }))
    .string(2, 'anyview_mutual_nearest')
    .message(11, valueInfo(d0, ONNX_FLOAT, ['n0', 'd']))
    .message(11, valueInfo(d1, ONNX_FLOAT, ['n1', 'd']))
    .message(11, valueInfo(k, ONNX_INT64, [1]))
    .message(12, valueInfo(rowBest, ONNX_FLOAT, ['n0', 1]))
    .message(12, valueInfo(rowBestIndex, ONNX_INT64, ['n0', 1]))
    .message(12, valueInfo(columnBest, ONNX_FLOAT, ['n1']))
    .finish();
  const opset = new ProtoWriter().string(1, '').int(2, 17).finish(); // domain '' (ai.onnx), version
  return new ProtoWriter()
    .int(1, 8) // ir_version
    .string(2, 'anyview') // producer_name
    .message(7, graph)
    .message(8, opset)
    .finish();
}

/** Writes the graph once under a content-addressed name and returns its path. */
export async function writeMutualNearestGraph(scratchDir: string): Promise<string> {
  const bytes = buildMutualNearestGraph();
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const file = path.join(path.resolve(scratchDir), `anyview-mutual-nn-${digest}.onnx`);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isFile() === true && existing.size === bytes.length) return file;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, bytes);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------

function checkDescriptors(name: string, set: DescriptorSet): void {
  if (!Number.isInteger(set.count) || set.count < 0 || !Number.isInteger(set.descriptorSize) || set.descriptorSize <= 0) {
    throw new InputError(`${name}: count ${set.count} and descriptorSize ${set.descriptorSize} must be non-negative / positive integers.`);
  }
  if (set.descriptors.length !== set.count * set.descriptorSize) {
    throw new InputError(`${name}: ${set.descriptors.length} descriptor values, expected count * descriptorSize = ${set.count * set.descriptorSize}.`);
  }
}

/** Float64 dot product of row i of `a` and row j of `b`. */
function rowDot(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  const oa = i * d;
  const ob = j * d;
  let s = 0;
  for (let k = 0; k < d; k++) s += a[oa + k]! * b[ob + k]!;
  return s;
}

function outputData<T extends 'int64' | 'float32'>(tensor: Tensor | undefined, dtype: T, name: string, length: number, file: string): Tensor<T>['data'] {
  if (tensor === undefined || tensor.dtype !== dtype || tensor.data.length !== length) {
    throw new ModelError(`matcher graph output "${name}" is missing or is not ${dtype} x ${length}.`, { file });
  }
  return tensor.data as Tensor<T>['data'];
}

/**
 * Mutual pairs from the row maxima (value, index) and column maxima, with their float64 similarity and the
 * threshold applied; a column goes to the first row that claims it (see the file header on ties).
 */
function mutualPairs(
  a: DescriptorSet,
  b: DescriptorSet,
  rowBest: Float32Array,
  rowBestIndex: BigInt64Array,
  columnBest: Float32Array,
  minSimilarity: number,
): DescriptorMatches {
  const d = a.descriptorSize;
  const claimed = new Uint8Array(b.count);
  const i0: number[] = [];
  const i1: number[] = [];
  const sims: number[] = [];
  for (let i = 0; i < a.count; i++) {
    const j = Number(rowBestIndex[i]!);
    if (rowBest[i] !== columnBest[j] || claimed[j] === 1) continue;
    claimed[j] = 1;
    const s = rowDot(a.descriptors, i, b.descriptors, j, d);
    if (!(s > minSimilarity)) continue;
    i0.push(i);
    i1.push(j);
    sims.push(s);
  }
  return { count: i0.length, indices0: Uint32Array.from(i0), indices1: Uint32Array.from(i1), similarity: Float32Array.from(sims) };
}

const EMPTY_MATCHES: DescriptorMatches = Object.freeze({
  count: 0, indices0: new Uint32Array(0), indices1: new Uint32Array(0), similarity: new Float32Array(0),
});

/** A matcher over an opened session of the graph from buildMutualNearestGraph. */
export function mutualNearestMatcherFromSession(session: ModelSession): MutualNearestMatcher {
  return {
    async match(a, b, options = {}, context = {}): Promise<DescriptorMatches> {
      throwIfAborted(context.signal);
      checkDescriptors('first descriptor set', a);
      checkDescriptors('second descriptor set', b);
      if (a.descriptorSize !== b.descriptorSize) {
        throw new InputError(`Descriptor sizes differ (${a.descriptorSize} vs ${b.descriptorSize}): features from different networks cannot be matched.`);
      }
      const minSimilarity = options.minSimilarity ?? Number.NEGATIVE_INFINITY;
      if (Number.isNaN(minSimilarity)) throw new InputError('minSimilarity must be a number.');
      if (a.count === 0 || b.count === 0) return EMPTY_MATCHES;
      const d = a.descriptorSize;
      const [d0, d1, k] = MATCHER_INPUTS;
      const [rowBest, rowBestIndex, columnBest] = MATCHER_OUTPUTS;
      const out = await session.run({
        [d0]: { dtype: 'float32', dims: [a.count, d], data: a.descriptors },
        [d1]: { dtype: 'float32', dims: [b.count, d], data: b.descriptors },
        [k]: { dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) },
      }, context);
      const file = session.modelPath;
      return mutualPairs(a, b,
        outputData(out[rowBest], 'float32', rowBest, a.count, file),
        outputData(out[rowBestIndex], 'int64', rowBestIndex, a.count, file),
        outputData(out[columnBest], 'float32', columnBest, b.count, file),
        minSimilarity);
    },
  };
}

/** Builds (once per scratch folder) and opens the matcher graph on a backend. */
export async function createMutualNearestMatcher(backend: InferenceBackend, options: MatcherSessionOptions = {}): Promise<MutualNearestMatcher> {
  const file = await writeMutualNearestGraph(options.scratchDir ?? os.tmpdir());
  const session = await backend.open(file, {
    device: options.device ?? 'cpu',
    ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
  });
  return mutualNearestMatcherFromSession(session);
}
