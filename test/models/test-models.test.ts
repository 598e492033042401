/**
 * The generated test models and the graph builder behind them: every graph runs in onnxruntime-node
 * and is checked against its closed form; declared dims are checked through session metadata; the
 * Transformers.js folder is loaded and run by Transformers.js itself.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { ensureTestModels, METRIC_MAX_DEPTH_METERS, mixChannels, type TestModels } from '../helpers/test-models.ts';
import { float, GraphBuilder } from '../../tools/onnx/graph-builder.ts';
import {
  buildDptVit,
  DEPTH_ANYTHING_V2_SMALL,
  seededUniform,
  unusedModuleParameters,
  type DptVitConfig,
} from '../../tools/onnx/dpt-vit.ts';

const HEIGHT = 28;
const WIDTH = 42;
/** Float32 rounding of a sum of three products of values within ±3. */
const TOLERANCE = 1e-5;

/** Deterministic values in [-2, 2). */
function seededImage(seed: number, length: number): Float32Array {
  return seededUniform(seed)(length, 2);
}

function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= tolerance)) assert.fail(`element ${i}: ${actual[i]} vs expected ${expected[i]} (tolerance ${tolerance})`);
  }
}

async function runSingle(modelPath: string, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const outputs = await session.run(feeds);
    const name = session.outputNames[0]!;
    return outputs[name]!;
  } finally {
    await session.release();
  }
}

async function metadataOf(modelPath: string) {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    return { inputs: session.inputMetadata, outputs: session.outputMetadata };
  } finally {
    await session.release();
  }
}

describe('generated test models', () => {
  let models: TestModels;
  const image = seededImage(7, 3 * HEIGHT * WIDTH);
  const mix = mixChannels(image, HEIGHT, WIDTH);
  const imageTensor = () => new ort.Tensor('float32', image, [1, 3, HEIGHT, WIDTH]);

  before(async () => {
    models = await ensureTestModels();
  });

  test('ensureTestModels is idempotent and returns absolute paths', async () => {
    const again = await ensureTestModels();
    assert.deepEqual(again, models);
    for (const file of Object.values(models)) if (file.includes(path.sep)) assert.ok(path.isAbsolute(file), file);
  });

  test('passthroughHf: pixel_values [1,3,height,width] -> predicted_depth [1,height,width] = r + 2g + 4b', async () => {
    const out = await runSingle(models.passthroughHf, { pixel_values: imageTensor() });
    assert.deepEqual(out.dims, [1, HEIGHT, WIDTH]);
    assertAllClose(out.data as Float32Array, mix, TOLERANCE);
    const meta = await metadataOf(models.passthroughHf);
    assert.deepEqual(meta.inputs, [{ name: 'pixel_values', isTensor: true, type: 'float32', shape: [1, 3, 'height', 'width'] }]);
    assert.deepEqual(meta.outputs, [{ name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 'height', 'width'] }]);
  });

  test('passthroughFabio: image -> depth, same maths', async () => {
    const out = await runSingle(models.passthroughFabio, { image: imageTensor() });
    assertAllClose(out.data as Float32Array, mix, TOLERANCE);
    const meta = await metadataOf(models.passthroughFabio);
    assert.deepEqual(meta.inputs.map((m) => m.name), ['image']);
    assert.deepEqual(meta.outputs.map((m) => m.name), ['depth']);
  });

  test('staticHf518: static dims [1,3,518,518] -> [1,518,518]', async () => {
    const big = seededImage(11, 3 * 518 * 518);
    const out = await runSingle(models.staticHf518, { pixel_values: new ort.Tensor('float32', big, [1, 3, 518, 518]) });
    assert.deepEqual(out.dims, [1, 518, 518]);
    assertAllClose(out.data as Float32Array, mixChannels(big, 518, 518), TOLERANCE);
    const meta = await metadataOf(models.staticHf518);
    assert.deepEqual(meta.inputs[0], { name: 'pixel_values', isTensor: true, type: 'float32', shape: [1, 3, 518, 518] });
    assert.deepEqual(meta.outputs[0], { name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 518, 518] });
    await assert.rejects(runSingle(models.staticHf518, { pixel_values: imageTensor() }), /dimension|shape/i);
  });

  test('output4d: predicted_depth [1,1,height,width]', async () => {
    const out = await runSingle(models.output4d, { pixel_values: imageTensor() });
    assert.deepEqual(out.dims, [1, 1, HEIGHT, WIDTH]);
    assertAllClose(out.data as Float32Array, mix, TOLERANCE);
    const meta = await metadataOf(models.output4d);
    assert.deepEqual(meta.outputs[0], { name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 1, 'height', 'width'] });
  });

  test('downsample2: 2x2 stride-2 average of the mix -> [1,h2,w2]', async () => {
    const out = await runSingle(models.downsample2, { pixel_values: imageTensor() });
    const [h2, w2] = [HEIGHT / 2, WIDTH / 2];
    assert.deepEqual(out.dims, [1, h2, w2]);
    const expected = new Float32Array(h2 * w2);
    for (let y = 0; y < h2; y++) {
      for (let x = 0; x < w2; x++) {
        const at = (yy: number, xx: number) => mix[yy * WIDTH + xx]!;
        expected[y * w2 + x] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
      }
    }
    assertAllClose(out.data as Float32Array, expected, TOLERANCE);
    const meta = await metadataOf(models.downsample2);
    assert.deepEqual(meta.outputs[0], { name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 'h2', 'w2'] });
  });

  test('metricSigmoid20: 20 * sigmoid(mix), within (0, 20) metres', async () => {
    const out = await runSingle(models.metricSigmoid20, { pixel_values: imageTensor() });
    const expected = mix.map((m) => METRIC_MAX_DEPTH_METERS / (1 + Math.exp(-m)));
    assertAllClose(out.data as Float32Array, expected, 1e-4);
  });

  test('bad contracts declare what they should and still run', async () => {
    const twoInputs = await metadataOf(models.badTwoInputs);
    assert.deepEqual(twoInputs.inputs.map((m) => m.name), ['pixel_values', 'second_image']);
    const summed = await runSingle(models.badTwoInputs, { pixel_values: imageTensor(), second_image: imageTensor() });
    assertAllClose(summed.data as Float32Array, mix.map((m) => 2 * m), 2 * TOLERANCE);

    const intInput = await metadataOf(models.badIntInput);
    assert.deepEqual(intInput.inputs[0], { name: 'pixel_values', isTensor: true, type: 'int64', shape: [1, 3, 'height', 'width'] });
    const ints = BigInt64Array.from(image, (v) => BigInt(Math.round(v)));
    const intOut = await runSingle(models.badIntInput, { pixel_values: new ort.Tensor('int64', ints, [1, 3, HEIGHT, WIDTH]) });
    assertAllClose(intOut.data as Float32Array, mixChannels(Float32Array.from(ints, Number), HEIGHT, WIDTH), 0);

    const oneChannel = await metadataOf(models.badOneChannel);
    assert.deepEqual(oneChannel.inputs[0], { name: 'pixel_values', isTensor: true, type: 'float32', shape: [1, 1, 'height', 'width'] });

    const twoChannels = await metadataOf(models.badOutputChannels);
    assert.deepEqual(twoChannels.outputs[0], { name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 2, 'height', 'width'] });
    const planes = await runSingle(models.badOutputChannels, { pixel_values: imageTensor() });
    assert.deepEqual(planes.dims, [1, 2, HEIGHT, WIDTH]);
    const data = planes.data as Float32Array;
    assertAllClose(data.subarray(0, HEIGHT * WIDTH), mix, TOLERANCE);
    assertAllClose(data.subarray(HEIGHT * WIDTH), mix.map((m) => -m), TOLERANCE);
  });

  test('notAModel is rejected by onnxruntime', async () => {
    await assert.rejects(ort.InferenceSession.create(models.notAModel));
  });

  test('the HF folder is laid out like onnx-community/depth-anything-v2-small', async () => {
    const config = JSON.parse(await readFile(path.join(models.hfPassthroughDir, 'config.json'), 'utf8'));
    const preprocessor = JSON.parse(await readFile(path.join(models.hfPassthroughDir, 'preprocessor_config.json'), 'utf8'));
    assert.equal(config.model_type, 'depth_anything');
    assert.equal(preprocessor.image_processor_type, 'DPTImageProcessor');
    assert.equal(preprocessor.ensure_multiple_of, 14);
    const onnxBytes = await readFile(path.join(models.hfPassthroughDir, 'onnx', 'model.onnx'));
    assert.ok(onnxBytes.equals(await readFile(models.passthroughHf)));
  });

  test('Transformers.js loads the HF folder: the model computes the mix, the pipeline returns a full-size map', async () => {
    const { AutoModel, env, pipeline, RawImage, Tensor } = await import('@huggingface/transformers');
    env.localModelPath = models.hfLocalModelRoot;
    env.allowRemoteModels = false;
    env.allowLocalModels = true;

    const model = await AutoModel.from_pretrained(models.hfPassthroughModelId, { local_files_only: true });
    try {
      const { predicted_depth } = await model({ pixel_values: new Tensor('float32', image, [1, 3, HEIGHT, WIDTH]) });
      assert.deepEqual(predicted_depth.dims, [1, HEIGHT, WIDTH]);
      assertAllClose(predicted_depth.data as Float32Array, mix, TOLERANCE);
    } finally {
      await model.dispose();
    }

    const estimator = await pipeline('depth-estimation', models.hfPassthroughModelId, { local_files_only: true });
    try {
      const [w, h] = [40, 30];
      const rgb = new Uint8ClampedArray(w * h * 3).map((_, i) => (i * 37) % 256);
      const result = await estimator(new RawImage(rgb, w, h, 3));
      const single = Array.isArray(result) ? result[0]! : result;
      assert.deepEqual(single.predicted_depth.dims, [h, w]);
      assert.ok((single.predicted_depth.data as Float32Array).every(Number.isFinite));
      assert.equal(single.depth.width, w);
      assert.equal(single.depth.height, h);
    } finally {
      await estimator.dispose();
    }
  });
});

describe('GraphBuilder', () => {
  test('float and int attributes, int64 constants and renamed outputs build a valid graph', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 'n']);
    const y = g.op('LeakyRelu', [x], { alpha: float(0.5) });
    const transposed = g.op('Transpose', [y], { perm: [1, 0] });
    const reshaped = g.op('Reshape', [transposed, g.constInt64([-1])]);
    g.output(reshaped, 'float32', ['m'], 'flat');
    const bytes = g.toBytes();
    assert.deepEqual(bytes, g.toBytes(), 'serialisation is deterministic');

    const session = await ort.InferenceSession.create(bytes);
    try {
      const input = Float32Array.from([1, -2, 3, -4, 5, -6]);
      const { flat } = await session.run({ x: new ort.Tensor('float32', input, [2, 3]) });
      // [[1,-1,3],[-2,5,-3]] transposed -> [[1,-2],[-1,5],[3,-3]]
      assert.deepEqual(Array.from(flat!.data as Float32Array), [1, -2, -1, 5, 3, -3]);
    } finally {
      await session.release();
    }
  });

  test('weights count as parameters, constants do not; bad sizes and names throw', () => {
    const g = new GraphBuilder();
    g.weight('w', [2, 3], new Float32Array(6));
    g.constFloat([1, 2]);
    assert.equal(g.parameterCount(), 6);
    assert.throws(() => g.weight('w2', [4], new Float32Array(3)), /dims \[4\] hold 4 elements but data has 3/);
    g.input('x', 'float32', [1]);
    assert.throws(() => g.input('x', 'float32', [1]), /already used/);
    assert.throws(() => g.op('Relu', ['x'], { alpha: 0.5 }), /wrap floats in float\(\)/);
  });

  test('opMulti returns every output', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [4]);
    const [a, b] = g.opMulti('Split', [x, g.constInt64([1, 3])], { axis: 0 }, { outputs: 2 });
    g.output(a!, 'float32', [1], 'a');
    g.output(b!, 'float32', [3], 'b');
    const session = await ort.InferenceSession.create(g.toBytes());
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]) });
      assert.deepEqual(Array.from(out['a']!.data as Float32Array), [1]);
      assert.deepEqual(Array.from(out['b']!.data as Float32Array), [2, 3, 4]);
    } finally {
      await session.release();
    }
  });
});

describe('DPT-ViT graph (random-weight Depth Anything V2)', () => {
  const TINY: DptVitConfig = {
    embedDim: 24,
    depth: 4,
    numHeads: 2,
    mlpRatio: 4,
    patchSize: 14,
    posGrid: 3,
    intermediateLayers: [0, 1, 2, 3],
    features: 8,
    outChannels: [4, 8, 12, 24],
    headHidden: 4,
  };

  test('Depth-Anything-V2-Small has the real parameter count', () => {
    const graph = buildDptVit(DEPTH_ANYTHING_V2_SMALL);
    // An export holds 24,710,849; the PyTorch module adds mask_token and refinenet4.resConfUnit1 (unused).
    assert.equal(graph.parameterCount(), 24_710_849);
    assert.equal(graph.parameterCount() + unusedModuleParameters(DEPTH_ANYTHING_V2_SMALL), 24_785_089);
  });

  test('a tiny config runs at several dynamic sizes and returns finite [1,H,W] maps', async () => {
    const bytes = buildDptVit(TINY, { seed: 5 }).toBytes();
    assert.deepEqual(bytes, buildDptVit(TINY, { seed: 5 }).toBytes(), 'same seed, same bytes');
    const session = await ort.InferenceSession.create(bytes);
    try {
      assert.deepEqual(session.inputMetadata[0], { name: 'pixel_values', isTensor: true, type: 'float32', shape: [1, 3, 'height', 'width'] });
      assert.deepEqual(session.outputMetadata[0], { name: 'predicted_depth', isTensor: true, type: 'float32', shape: [1, 'height', 'width'] });
      for (const [h, w] of [[42, 42], [28, 70], [56, 42]] as const) {
        const pixels = seededImage(h * w, 3 * h * w);
        const { predicted_depth: depth } = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, h, w]) });
        assert.deepEqual(depth!.dims, [1, h, w]);
        const data = depth!.data as Float32Array;
        assert.ok(data.every((v) => Number.isFinite(v) && v >= 0), 'finite and ReLU-clamped');
      }
    } finally {
      await session.release();
    }
  });
});
