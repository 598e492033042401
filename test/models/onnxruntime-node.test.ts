/**
 * The onnxruntime-node backend and contract detection on the tiny generated ONNX models (tools/make-test-models.ts).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GraphBuilder } from '../../tools/onnx/graph-builder.ts';
import { BackendError, InputError, ModelError } from '../../src/core/errors.ts';
import type { InferenceBackend, Tensor } from '../../src/models/backend.ts';
import { depthPlaneFromOutput, detectDepthContract } from '../../src/models/contract.ts';
import { FABIO_CONTRACT, HF_CONTRACT } from '../../src/models/depth-anything.ts';
import {
  createOnnxRuntimeNodeBackend, cudaAvailability, float16BitsToFloat32, float32ToFloat16Bits,
} from '../../src/models/onnxruntime-node.ts';
import { getModelSpec } from '../../src/models/registry.ts';
import { writeMutualNearestGraph } from '../../src/models/matcher-graph.ts';
import { GENERATED_DIR } from '../helpers/paths.ts';
import { ensureTestModels, METRIC_MAX_DEPTH_METERS, mixChannels, type TestModels } from '../helpers/test-models.ts';

/** A float16 model like the fp16 hub variants: pixel_values f16 [1,3,H,W] -> predicted_depth f16 [1,H,W] = channel mean. */
async function writeFloat16MeanModel(): Promise<string> {
  const g = new GraphBuilder({ graphName: 'fp16_mean' });
  const input = g.input('pixel_values', 'float16', [1, 3, 'height', 'width']);
  const mean = g.op('ReduceMean', [input], { axes: [1], keepdims: 0 });
  g.output(mean, 'float16', [1, 'height', 'width'], 'predicted_depth');
  const file = path.join(GENERATED_DIR, 'models-runtime', 'fp16Mean.onnx');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, g.toBytes());
  return file;
}

function image(height: number, width: number, seed = 1): Tensor<'float32'> {
  const data = new Float32Array(3 * height * width);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919 + seed * 104729) % 1000) / 1000 - 0.5;
  return { dtype: 'float32', dims: [1, 3, height, width], data };
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const sessionThread of ['main', 'worker'] as const) describe(`onnxruntime-node backend, sessions on the ${sessionThread} thread`, () => {
  let models: TestModels;
  let backend: InferenceBackend;

  before(async () => {
    models = await ensureTestModels();
    backend = createOnnxRuntimeNodeBackend({ sessionThread });
  });
  after(async () => {
    await backend.dispose();
  });

  it('exposes names, dtypes and dims (symbolic dims as strings) and runs on the CPU', async () => {
    const session = await backend.open(models.passthroughHf, { device: 'cpu', intraOpThreads: 1 });
    assert.equal(session.device, 'cpu');
    assert.deepEqual(session.inputs, [{ name: 'pixel_values', dtype: 'float32', dims: [1, 3, 'height', 'width'] }]);
    assert.deepEqual(session.outputs, [{ name: 'predicted_depth', dtype: 'float32', dims: [1, 'height', 'width'] }]);
    const input = image(5, 7);
    const out = await session.run({ pixel_values: input });
    const depth = out['predicted_depth']!;
    assert.equal(depth.dtype, 'float32');
    assert.deepEqual(depth.dims, [1, 5, 7]);
    assertClose(depth.data as Float32Array, mixChannels(input.data, 5, 7), 1e-5);
  });

  it('caches sessions per (path, options) and releases them on dispose', async () => {
    const local = createOnnxRuntimeNodeBackend({ sessionThread });
    const a = await local.open(models.passthroughHf, { device: 'cpu' });
    const b = await local.open(models.passthroughHf, { device: 'cpu' });
    const c = await local.open(models.passthroughHf, { device: 'cpu', intraOpThreads: 1 });
    assert.equal(a, b);
    assert.notEqual(a, c);
    await local.dispose();
    await local.dispose(); // idempotent
    await assert.rejects(a.run({ pixel_values: image(2, 2) }), BackendError);
    const reopened = await local.open(models.passthroughHf, { device: 'cpu' });
    assert.notEqual(reopened, a);
    await local.dispose();
  });

  it("device 'auto' falls back to the CPU and 'cuda' reports a missing CUDA EP cleanly", async () => {
    const auto = await backend.open(models.passthroughFabio, { device: 'auto' });
    const cuda = cudaAvailability();
    if (cuda.available) {
      assert.ok(auto.device === 'cuda' || auto.device === 'cpu');
      return;
    }
    assert.equal(auto.device, 'cpu');
    assert.match(cuda.reason ?? '', /CUDA execution provider is not installed/);
    await assert.rejects(backend.open(models.passthroughFabio, { device: 'cuda' }), (error: unknown) => {
      assert.ok(error instanceof BackendError);
      assert.match(error.message, /device 'cuda' was requested/);
      assert.match(error.message, /--device cpu/);
      return true;
    });
  });

  it('rejects bad options as InputError', async () => {
    await assert.rejects(backend.open(models.passthroughHf, { intraOpThreads: 0 }), InputError);
    await assert.rejects(backend.open(models.passthroughHf, { device: 'tpu' as never }), InputError);
  });

  it('a file that is not ONNX is a ModelError naming the file; a missing file too', async () => {
    await assert.rejects(backend.open(models.notAModel), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.includes(models.notAModel));
      assert.match(error.message, /not a valid ONNX model/);
      return true;
    });
    await assert.rejects(backend.open(`${models.notAModel}.missing`), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /not found/);
      return true;
    });
  });

  it('run failures are BackendErrors; wrong feed names are ModelErrors', async () => {
    const session = await backend.open(models.passthroughHf, { device: 'cpu' });
    const wrongChannels: Tensor = { dtype: 'float32', dims: [1, 2, 2, 2], data: new Float32Array(8) };
    await assert.rejects(session.run({ pixel_values: wrongChannels }), (error: unknown) => {
      assert.ok(error instanceof BackendError);
      assert.ok(error.message.includes(models.passthroughHf));
      return true;
    });
    await assert.rejects(session.run({ image: image(2, 2) }), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /takes inputs \[pixel_values\]/);
      return true;
    });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(session.run({ pixel_values: image(2, 2) }, { signal: controller.signal }), { code: 'ABORTED' });
  });

  it('float16 models: float32 feeds are cast to float16, float16 outputs widened to float32', async () => {
    const file = await writeFloat16MeanModel();
    const session = await backend.open(file, { device: 'cpu' });
    assert.deepEqual(session.inputs, [{ name: 'pixel_values', dtype: 'float16', dims: [1, 3, 'height', 'width'] }]);
    const contract = detectDepthContract(session, getModelSpec('depth-anything-v2-small'));
    assert.equal(contract.inputDType, 'float16');
    assert.equal(contract.outputDType, 'float16');
    const input = image(3, 4);
    const plane = depthPlaneFromOutput(contract, await session.run({ pixel_values: input }));
    const expected = new Float32Array(12);
    for (let i = 0; i < 12; i++) expected[i] = (input.data[i]! + input.data[12 + i]! + input.data[24 + i]!) / 3;
    assertClose(plane.data, expected, 2e-3);
    const bits: Tensor = { dtype: 'float16', dims: [1, 3, 1, 1], data: float32ToFloat16Bits(new Float32Array([1, 2, 3])) };
    const out = await session.run({ pixel_values: bits });
    assert.deepEqual([...(out['predicted_depth']!.data as Float32Array)], [2]);
  });

  it(`a run ${sessionThread === 'worker' ? 'leaves' : 'blocks'} the calling thread ${sessionThread === 'worker' ? 'free' : ''} while it runs`, async () => {
    // 4096 x 4096 descriptor similarities: tens of milliseconds of work for onnxruntime.
    const session = await backend.open(await writeMutualNearestGraph(path.join(GENERATED_DIR, 'models-runtime')), { device: 'cpu' });
    const descriptors = (seed: number): Tensor => ({ dtype: 'float32', dims: [4096, 64], data: image(64, 4096, seed).data.subarray(0, 4096 * 64) });
    const feeds = { descriptors0: descriptors(1), descriptors1: descriptors(2), k: { dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) } } as const;
    const first = await session.run(feeds); // warm-up
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const started = performance.now();
    const out = await session.run(feeds);
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    assert.deepEqual([...(out['rowBestIndex']!.data as BigInt64Array)], [...(first['rowBestIndex']!.data as BigInt64Array)]);
    if (sessionThread === 'worker') assert.ok(ticks >= 3, `${ticks} timer ticks during a ${elapsedMs.toFixed(0)} ms run`);
    else assert.ok(ticks <= 1, `${ticks} timer ticks during a ${elapsedMs.toFixed(0)} ms run`);
  });

  it('float16 bit conversions round-trip representable values and round to nearest', () => {
    const values = new Float32Array([0, -0, 1, -2, 0.5, 65504, 1 / 1024, 6.103515625e-5, 5.960464477539063e-8, 1e-10, 1e6, -Infinity]);
    const back = float16BitsToFloat32(float32ToFloat16Bits(values));
    assert.deepEqual([...back], [0, -0, 1, -2, 0.5, 65504, 1 / 1024, 6.103515625e-5, 5.960464477539063e-8, 0, Infinity, -Infinity]);
    assert.equal(float32ToFloat16Bits(new Float32Array([1.0009765625 / 2 + 0.5]))[0], 0x3c00); // 1 + 2^-11: tie to even
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(new Float32Array([Number.NaN])))[0]!));
  });
});

describe('detectDepthContract on generated models', () => {
  let models: TestModels;
  let backend: InferenceBackend;

  before(async () => {
    models = await ensureTestModels();
    backend = createOnnxRuntimeNodeBackend();
  });
  after(async () => {
    await backend.dispose();
  });

  it('Transformers.js naming, with the spec names', async () => {
    const session = await backend.open(models.passthroughHf, { device: 'cpu' });
    const contract = detectDepthContract(session, getModelSpec('depth-anything-v2-small'));
    assert.deepEqual(contract, {
      modelPath: models.passthroughHf, inputName: 'pixel_values', inputDType: 'float32', outputName: 'predicted_depth',
      outputDType: 'float32', outputLayout: 'nhw', staticInput: undefined, namesFrom: 'spec',
      batch: 'one', // the generated graph declares [1, 3, height, width]
    });
    const input = image(4, 6);
    const plane = depthPlaneFromOutput(contract, await session.run({ [contract.inputName]: input }));
    assert.equal(plane.width, 6);
    assert.equal(plane.height, 4);
    assertClose(plane.data, mixChannels(input.data, 4, 6), 1e-5);
  });

  it('fabio-sim naming is found in the file when the spec names are absent', async () => {
    const session = await backend.open(models.passthroughFabio, { device: 'cpu' });
    const contract = detectDepthContract(session, { contract: HF_CONTRACT });
    assert.equal(contract.inputName, 'image');
    assert.equal(contract.outputName, 'depth');
    assert.equal(contract.namesFrom, 'file');
    assert.equal(detectDepthContract(session, { contract: FABIO_CONTRACT }).namesFrom, 'spec');
  });

  it('static input size is reported; [1,1,H,W] outputs are accepted', async () => {
    const fixed = detectDepthContract(await backend.open(models.staticHf518, { device: 'cpu' }));
    assert.deepEqual(fixed.staticInput, { width: 518, height: 518 });
    const four = await backend.open(models.output4d, { device: 'cpu' });
    const contract = detectDepthContract(four);
    assert.equal(contract.outputLayout, 'n1hw');
    const input = image(3, 5);
    const plane = depthPlaneFromOutput(contract, await four.run({ pixel_values: input }));
    assert.deepEqual([plane.height, plane.width], [3, 5]);
    assertClose(plane.data, mixChannels(input.data, 3, 5), 1e-5);
  });

  it('a downsampling model and a metric model run through the same contract', async () => {
    const down = await backend.open(models.downsample2, { device: 'cpu' });
    const plane = depthPlaneFromOutput(detectDepthContract(down), await down.run({ pixel_values: image(4, 6) }));
    assert.deepEqual([plane.height, plane.width], [2, 3]);
    const metric = await backend.open(models.metricSigmoid20, { device: 'cpu' });
    const metricPlane = depthPlaneFromOutput(detectDepthContract(metric), await metric.run({ pixel_values: image(2, 3) }));
    for (const v of metricPlane.data) assert.ok(v > 0 && v < METRIC_MAX_DEPTH_METERS);
  });

  const bad: readonly [keyof TestModels, RegExp][] = [
    ['badTwoInputs', /2 image-like inputs.*expected one float32 or float16 image input/],
    ['badIntInput', /int64.*expected one float32 or float16 image input/],
    ['badOneChannel', /1 channel at dim 1 \(expected 3, RGB\)/],
    ['badOutputChannels', /2 channels at dim 1 \(expected 1\).*expected a depth output shaped \[1, height, width\] or \[1, 1, height, width\]/],
  ];
  for (const [name, pattern] of bad) {
    it(`${name} is a ModelError naming the file and what was expected`, async () => {
      const session = await backend.open(models[name], { device: 'cpu' });
      assert.throws(() => detectDepthContract(session, getModelSpec('depth-anything-v2-small')), (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.ok(error.message.includes(models[name]), error.message);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }
});
