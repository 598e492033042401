import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { InputError } from '../core/errors.ts';
import { matchMutualNearest, nearestNeighbours } from '../geometry/match.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';
import type { InferenceBackend } from './backend.ts';
import {
  buildMutualNearestGraph, createMutualNearestMatcher, MATCHER_INPUTS, MATCHER_OUTPUTS, writeMutualNearestGraph,
  type DescriptorSet, type MutualNearestMatcher,
} from './matcher-graph.ts';
import { createOnnxRuntimeNodeBackend } from './onnxruntime-node.ts';
import { randomDescriptors } from '../../test/helpers/descriptors.ts';

/** Rows of `a` whose best and second-best similarities in `b` are within `gap` (sgemm rounding could swap them). */
function nearTieRows(a: DescriptorSet, b: DescriptorSet, gap: number): Set<number> {
  const d = a.descriptorSize;
  const rows = new Set<number>();
  const columnTop = Array.from({ length: b.count }, () => [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, -1]);
  for (let i = 0; i < a.count; i++) {
    let first = Number.NEGATIVE_INFINITY;
    let second = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < b.count; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a.descriptors[i * d + k]! * b.descriptors[j * d + k]!;
      if (s > first) [first, second] = [s, first];
      else if (s > second) second = s;
      const top = columnTop[j]!;
      if (s > top[0]!) columnTop[j] = [s, top[0]!, i];
      else if (s > top[1]!) top[1] = s;
    }
    if (first - second < gap) rows.add(i);
  }
  for (const [first, second, i] of columnTop) if (first! - second! < gap) rows.add(i!);
  return rows;
}

describe('matcher graph (hand-written ONNX protobuf)', () => {
  it('decodes with onnx-proto into Gemm(transB) -> TopK(axis 1) and ReduceMax(axes [0]), opset 17', () => {
    const model = onnxProto.onnx.ModelProto.decode(buildMutualNearestGraph());
    assert.equal(Number(model.irVersion), 8);
    assert.deepEqual(model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]), [['', 17]]);
    const graph = model.graph!;
    const inputs = graph.input ?? [];
    const nodes = graph.node ?? [];
    assert.deepEqual(inputs.map((v) => v.name), [...MATCHER_INPUTS]);
    assert.deepEqual((graph.output ?? []).map((v) => v.name), [...MATCHER_OUTPUTS]);
    assert.deepEqual(nodes.map((n) => [n.opType, n.input, n.output]), [
      ['Gemm', ['descriptors0', 'descriptors1'], ['similarity']],
      ['TopK', ['similarity', 'k'], ['rowBest', 'rowBestIndex']],
      ['ReduceMax', ['similarity'], ['columnBest']],
    ]);
    const attrs = nodes.map((n) => Object.fromEntries((n.attribute ?? []).map((a) => [a.name, (a.ints ?? []).length > 0 ? a.ints!.map(Number) : Number(a.i)])));
    assert.deepEqual(attrs, [{ transB: 1 }, { axis: 1 }, { axes: [0], keepdims: 0 }]);
    const dims = inputs[0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam);
    assert.deepEqual(dims, ['n0', 'd']);
  });

  const onnxAvailable = existsSync(DEBIAN_PYTHON) && spawnSync(DEBIAN_PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
  it('passes the official ONNX checker with full shape inference (Debian python3-onnx)', { skip: onnxAvailable ? false : 'python3-onnx not found' }, () => {
    const script = [
      'import sys, onnx',
      'm = onnx.load_from_string(sys.stdin.buffer.read())',
      'onnx.checker.check_model(m, full_check=True)',
      'inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)',
      'print([(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in inf.graph.value_info])',
    ].join('\n');
    const run = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: buildMutualNearestGraph(), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\('similarity', \['n0', 'n1'\]\)/);
  });
});

describe('createMutualNearestMatcher (onnxruntime)', () => {
  let backend: InferenceBackend;
  let scratch: string;
  let matcher: MutualNearestMatcher;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'anyview-matcher-'));
    backend = createOnnxRuntimeNodeBackend();
    matcher = await createMutualNearestMatcher(backend, { scratchDir: scratch, intraOpThreads: 2 });
  });
  after(async () => {
    await backend.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  it('writes the graph once, under a content-addressed name', async () => {
    const first = await writeMutualNearestGraph(scratch);
    const second = await writeMutualNearestGraph(scratch);
    assert.equal(first, second);
    assert.deepEqual(await readdir(scratch), [path.basename(first)]);
  });

  it('gives the JS reference\'s mutual matches (exactly, away from float32 near-ties), with float64 similarities', async () => {
    for (const [n, m, seed, minSimilarity] of [[1000, 1300, 1, undefined], [777, 333, 2, 0.3], [5, 2000, 3, undefined]] as const) {
      const a = randomDescriptors(n, 64, seed);
      const b = randomDescriptors(m, 64, seed + 50);
      const options = minSimilarity === undefined ? {} : { minSimilarity };
      const reference = matchMutualNearest(a, b, options);
      const got = await matcher.match(a, b, options);
      const ties = nearTieRows(a, b, 1e-5);
      const key = (x: typeof got, k: number): string => `${x.indices0[k]}:${x.indices1[k]}`;
      const refPairs = new Map(Array.from({ length: reference.count }, (_, k) => [key(reference, k), reference.similarity[k]!]));
      const gotPairs = new Map(Array.from({ length: got.count }, (_, k) => [key(got, k), got.similarity[k]!]));
      const differing = [...refPairs.keys()].filter((p) => !gotPairs.has(p)).concat([...gotPairs.keys()].filter((p) => !refPairs.has(p)));
      for (const pair of differing) assert.ok(ties.has(Number(pair.split(':')[0])), `${n}x${m}: pair ${pair} differs without a near-tie`);
      for (const [pair, s] of gotPairs) if (refPairs.has(pair)) assert.equal(s, refPairs.get(pair), pair);
      assert.ok(reference.count > 0 && differing.length <= ties.size, `${n}x${m}: ${differing.length} differences, ${ties.size} near-ties`);
      // Ordered by index in the first set, as the reference.
      for (let k = 1; k < got.count; k++) assert.ok(got.indices0[k - 1]! < got.indices0[k]!);
    }
  });

  it('finds a known permutation; empty sets give no matches; mismatched sizes are an InputError', async () => {
    const a = randomDescriptors(300, 64, 9);
    const order = Array.from({ length: 300 }, (_, i) => (i * 7) % 300); // 7 is coprime with 300
    const b = new Float32Array(300 * 64);
    order.forEach((target, i) => b.set(a.descriptors.subarray(i * 64, i * 64 + 64), target * 64));
    const got = await matcher.match(a, { count: 300, descriptorSize: 64, descriptors: b });
    assert.equal(got.count, 300);
    assert.deepEqual(Array.from(got.indices1), order);
    assert.ok(got.similarity.every((s) => Math.abs(s - 1) < 1e-6));
    const empty = { count: 0, descriptorSize: 64, descriptors: new Float32Array(0) };
    assert.equal((await matcher.match(a, empty)).count, 0);
    assert.equal((await matcher.match(empty, a)).count, 0);
    await assert.rejects(matcher.match(a, randomDescriptors(3, 32, 1)), InputError);
  });

  it('agrees with nearestNeighbours on one row against many (TopK keeps the first of exact ties)', async () => {
    const e = [1, 0, 0, 0];
    const a = { count: 1, descriptorSize: 4, descriptors: Float32Array.from(e) };
    const b = { count: 3, descriptorSize: 4, descriptors: Float32Array.from([0, 1, 0, 0, ...e, ...e]) };
    const got = await matcher.match(a, b);
    assert.deepEqual([got.count, got.indices1[0]], [1, nearestNeighbours(a, b).best1For0[0]]);
    assert.equal(got.indices1[0], 1);
  });
});
