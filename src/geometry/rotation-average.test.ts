import { test } from 'node:test';
import assert from 'node:assert/strict';
import { det3, mul3, rotationAngleDeg, rotationFromAxisAngle, transpose3 } from './mat3.ts';
import { chordalMeanRotation } from './rotation-average.ts';

const angleBetween = (a: Float64Array, b: Float64Array): number => rotationAngleDeg(mul3(a, transpose3(b)));

test('chordalMeanRotation: symmetric perturbations average to the centre; weights pull towards the heavier', () => {
  const centre = rotationFromAxisAngle([0.4, -0.2, 0.9]);
  const plus = mul3(rotationFromAxisAngle([0, 0.2, 0]), centre), minus = mul3(rotationFromAxisAngle([0, -0.2, 0]), centre);
  const mean = chordalMeanRotation([plus, minus]);
  assert.ok(angleBetween(mean, centre) < 1e-6, `${angleBetween(mean, centre)} deg`);
  assert.ok(Math.abs(det3(mean) - 1) < 1e-12);
  // Weighted 3:1, the mean lies on the geodesic, nearer the heavier one (exactly halfway for equal weights).
  const weighted = chordalMeanRotation([plus, minus], [3, 1]);
  assert.ok(angleBetween(weighted, plus) < angleBetween(weighted, minus));
  assert.ok(Math.abs(angleBetween(weighted, plus) + angleBetween(weighted, minus) - angleBetween(plus, minus)) < 1e-6);
  // One rotation is its own mean.
  assert.ok(angleBetween(chordalMeanRotation([centre]), centre) < 1e-6);
});
