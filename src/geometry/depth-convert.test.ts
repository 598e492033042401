import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDepth, type DisparityMap, type MetricDepthMap, type RelativeDepthMap } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { depthToDisparity, disparityToDepth } from './depth-convert.ts';

const disparity = (values: number[], confidence?: number[]): DisparityMap => createDepth({
  kind: 'disparity', width: values.length, height: 1, data: Float32Array.from(values),
  ...(confidence ? { confidence: Float32Array.from(confidence) } : {}),
});

test('depth = 1 / (scale * disparity + shift); non-positive denominators and NaN give NaN', () => {
  const d = disparity([1, 2, 0, -1, NaN, 0.5, 4]);
  const depth = disparityToDepth(d, { scale: 0.5, shift: 0.25, metric: true });
  // 1/(0.5*1+0.25)=4/3, 1/(1.25)=0.8, 1/0.25=4, 1/(-0.25)->NaN, NaN, 1/0.5=2, 1/2.25
  const expected = [4 / 3, 0.8, 4, NaN, NaN, 2, 1 / 2.25].map(Math.fround);
  assert.deepEqual([...depth.data], expected);
  assert.equal(depth.kind, 'metricDepth');
  const zero = disparityToDepth(disparity([1, -2]), { scale: 2, shift: 4, metric: false });
  assert.deepEqual([...zero.data], [Math.fround(1 / 6), NaN]); // 2*-2+4 = 0 -> NaN, not Infinity
});

test('the result type follows the alignment: metric -> MetricDepthMap, otherwise RelativeDepthMap', () => {
  const d = disparity([1, 2]);
  const m: MetricDepthMap = disparityToDepth(d, { scale: 1, shift: 0, metric: true });
  const r: RelativeDepthMap = disparityToDepth(d, { scale: 1, shift: 0, metric: false });
  assert.equal(m.kind, 'metricDepth');
  assert.equal(r.kind, 'relativeDepth');
  // @ts-expect-error: a relative alignment does not give metric depth
  const wrong: MetricDepthMap = disparityToDepth(d, { scale: 1, shift: 0, metric: false });
  assert.equal(wrong.kind, 'relativeDepth');
});

test('depthToDisparity and back is the identity (within float32), confidence carried along', () => {
  const depth = createDepth({
    kind: 'metricDepth', width: 4, height: 1, data: new Float32Array([0.5, 3, NaN, 0]),
    confidence: new Float32Array([1, 0.5, 0, 0.25]),
  });
  const inverse = depthToDisparity(depth);
  assert.equal(inverse.kind, 'disparity');
  assert.deepEqual([...inverse.data], [2, Math.fround(1 / 3), NaN, NaN]);
  assert.equal(inverse.confidence, depth.confidence);
  const back = disparityToDepth(inverse, { scale: 1, shift: 0, metric: true });
  assert.ok(Math.abs(back.data[1]! - 3) < 1e-6);
  assert.equal(back.data[0], 0.5);
  assert.equal(back.confidence, depth.confidence);
});

test('bad inputs are InputErrors', () => {
  assert.throws(() => disparityToDepth(disparity([1]), { scale: NaN, shift: 0, metric: true }), InputError);
  const notDisparity = createDepth({ kind: 'metricDepth', width: 1, height: 1, data: new Float32Array([1]) });
  assert.throws(() => disparityToDepth(notDisparity as unknown as DisparityMap, { scale: 1, shift: 0, metric: true }),
    /needs a disparity map, got metricDepth/);
});
