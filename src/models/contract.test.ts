import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../core/errors.ts';
import type { TensorInfo } from './backend.ts';
import { depthPlaneFromOutput, depthPlanesFromOutput, detectDepthContract } from './contract.ts';
import { getModelSpec } from './registry.ts';

const FILE = '/models/x.onnx';
const image = (name = 'image', dims: TensorInfo['dims'] = [1, 3, 'h', 'w'], dtype = 'float32'): TensorInfo => ({ name, dtype, dims });
const depth = (name = 'depth', dims: TensorInfo['dims'] = [1, 'h', 'w'], dtype = 'float32'): TensorInfo => ({ name, dtype, dims });
const session = (inputs: TensorInfo[], outputs: TensorInfo[]) => ({ modelPath: FILE, inputs, outputs });

describe('detectDepthContract (declared metadata)', () => {
  it('DA3-style exports with depth and sky outputs pick depth, and a static 504x378 size is reported', () => {
    const contract = detectDepthContract(session([image('image', [1, 3, 378, 504])], [depth('depth', [1, 378, 504]), depth('sky', [1, 378, 504])]),
      getModelSpec('da3mono-large'));
    assert.equal(contract.outputName, 'depth');
    assert.equal(contract.namesFrom, 'spec');
    assert.deepEqual(contract.staticInput, { width: 504, height: 378 });
  });

  it('without spec names, a preferred output name breaks ties; otherwise ambiguity is an error', () => {
    assert.equal(detectDepthContract(session([image()], [depth('sky'), depth('predicted_depth')])).outputName, 'predicted_depth');
    assert.throws(() => detectDepthContract(session([image()], [depth('a'), depth('b')])), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.startsWith(`${FILE}:`));
      assert.match(error.message, /2 outputs that could be the depth map/);
      return true;
    });
  });

  it('undeclared shapes are accepted and checked at run time', () => {
    const contract = detectDepthContract(session([{ name: 'x', dtype: 'float32', dims: undefined }], [{ name: 'y', dtype: 'float32', dims: undefined }]));
    assert.equal(contract.outputLayout, 'unknown');
    assert.equal(contract.staticInput, undefined);
    assert.throws(() => depthPlaneFromOutput(contract, { y: { dtype: 'float32', dims: [2, 4, 4], data: new Float32Array(32) } }), ModelError);
    const plane = depthPlaneFromOutput(contract, { y: { dtype: 'float32', dims: [1, 1, 2, 3], data: new Float32Array(6) } });
    assert.deepEqual([plane.width, plane.height], [3, 2]);
  });

  it('rejects models that are not single-image depth models, saying what was expected', () => {
    const cases: [ReturnType<typeof session>, RegExp][] = [
      [session([], [depth()]), /no inputs/],
      [session([image(), { name: 'k', dtype: 'float32', dims: [1, 3, 3] }], [depth()]), /2 inputs .* and nothing else/],
      [session([image('image', [1, 3, 'h'])], [depth()]), /rank 3/],
      [session([image('image', [2, 3, 'h', 'w'])], [depth()]), /fixed batch of 2/],
      [session([image('image', [1, 3, 518, 'w'])], [depth()]), /fixes only one of height and width/],
      [session([image()], []), /no outputs/],
      [session([image()], [depth('d', [1, 'h', 'w'], 'int64')]), /element type int64/],
      [session([image()], [depth('d', ['h', 'w'])]), /rank 2/],
    ];
    for (const [info, pattern] of cases) {
      assert.throws(() => detectDepthContract(info), (error: unknown) => {
        assert.ok(error instanceof ModelError, String(error));
        assert.ok(error.message.includes(FILE));
        assert.match(error.message, pattern);
        return true;
      });
    }
  });
});

describe('batch dimension', () => {
  it('is dynamic only when both the image input and the depth output declare a symbolic batch', () => {
    const batchOf = (inDims: TensorInfo['dims'], outDims: TensorInfo['dims']) => detectDepthContract(session([image('image', inDims)], [depth('depth', outDims)])).batch;
    assert.equal(batchOf(['batch_size', 3, 'h', 'w'], ['batch_size', 'h', 'w']), 'dynamic'); // onnx-community DA-V2 export
    assert.equal(batchOf(['n', 3, 'h', 'w'], ['n', 1, 'h', 'w']), 'dynamic');
    assert.equal(batchOf([1, 3, 518, 518], [1, 518, 518]), 'one'); // fabio-sim export
    assert.equal(batchOf(['n', 3, 'h', 'w'], [1, 'h', 'w']), 'one');
    assert.equal(batchOf([1, 3, 'h', 'w'], ['n', 'h', 'w']), 'one');
    assert.equal(batchOf(undefined, undefined), 'one');
  });

  it('depthPlanesFromOutput splits [N,H,W] and [N,1,H,W] into N copied planes, and refuses another count', () => {
    const contract = detectDepthContract(session([image('image', ['n', 3, 'h', 'w'])], [depth('depth', ['n', 'h', 'w'])]));
    const data = Float32Array.from({ length: 3 * 2 * 4 }, (_, i) => i);
    for (const dims of [[3, 2, 4], [3, 1, 2, 4]]) {
      const planes = depthPlanesFromOutput(contract, { depth: { dtype: 'float32', dims, data } }, 3);
      assert.deepEqual(planes.map((p) => [p.width, p.height, p.data[0], p.data.length]), [[4, 2, 0, 8], [4, 2, 8, 8], [4, 2, 16, 8]]);
      planes[1]!.data[0] = -1;
      assert.equal(data[8], 8, 'a plane is a copy');
    }
    assert.throws(() => depthPlanesFromOutput(contract, { depth: { dtype: 'float32', dims: [3, 2, 4], data } }, 2), /batch of 2/);
    assert.throws(() => depthPlanesFromOutput(contract, { depth: { dtype: 'float32', dims: [3, 2, 2, 2], data } }, 3), ModelError);
  });
});
