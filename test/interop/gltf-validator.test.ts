/**
 * The Khronos glTF-Validator (the reference implementation of the glTF 2.0 spec's rules) on what
 * src/io/formats/glb.ts writes: real GT cameras (NeRF-synthetic lego, DTU scan24) with coloured point clouds, and the
 * edge cases (no colours, cameras only, invalid points). Zero errors and zero warnings are required.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PointCloud } from '../../src/core/points.ts';
import { encodeSceneGlb, type GlbCamera } from '../../src/io/formats/glb.ts';
import { readTransformsJson } from '../../src/io/formats/transforms-json.ts';
import { noise } from '../helpers/noise.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';

interface ValidatorMessage { readonly code: string; readonly message: string; readonly severity: number; readonly pointer?: string }
interface ValidatorReport {
  readonly issues: { numErrors: number; numWarnings: number; numInfos: number; numHints: number; messages: ValidatorMessage[] };
  readonly info: { drawCallCount: number; totalVertexCount: number; generator?: string };
}
interface GltfValidator { validateBytes(bytes: Uint8Array, options?: { maxIssues?: number }): Promise<ValidatorReport> }

// The package ships no type declarations, so it is loaded through require with the small interface above.
const validator = createRequire(import.meta.url)('gltf-validator') as GltfValidator;

const DTU_JSON = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline/data/dtu_scan24/transforms.json');
const LEGO_JSON = path.join(SHARED_DATA_DIR, 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego/transforms_train.json');

/** A coloured blob of n points around `centre` with radius `radius` (deterministic). */
function blob(n: number, centre: readonly number[], radius: number, withColours = true): PointCloud {
  const r = noise(n * 6, n);
  const positions = new Float32Array(n * 3);
  const colors = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      positions[i * 3 + k] = centre[k]! + (r[i * 6 + k]! - 0.5) * 2 * radius;
      colors[i * 3 + k] = Math.floor(r[i * 6 + 3 + k]! * 256);
    }
  }
  return withColours ? { numPoints: n, frame: 'world', positions, colors } : { numPoints: n, frame: 'world', positions };
}

async function validate(bytes: Uint8Array): Promise<ValidatorReport> {
  const report = await validator.validateBytes(bytes, { maxIssues: 50 });
  const listing = report.issues.messages.map((m) => `[${m.severity}] ${m.code} ${m.pointer ?? ''}: ${m.message}`).join('\n');
  assert.equal(report.issues.numErrors, 0, listing);
  assert.equal(report.issues.numWarnings, 0, listing);
  return report;
}

test('lego GT cameras + a 200k-point coloured cloud: 0 errors, 0 warnings', { skip: !existsSync(LEGO_JSON) && `missing ${LEGO_JSON}` }, async (t) => {
  const { frames } = await readTransformsJson(LEGO_JSON, { imageSize: async () => ({ width: 800, height: 800 }) });
  const cameras: GlbCamera[] = frames.map((f) => ({ name: path.basename(f.imagePath), intrinsics: f.intrinsics, worldFromCamera: f.worldFromCamera }));
  const points = blob(200_000, [0, 0, 0], 1.5);
  const start = performance.now();
  const bytes = await encodeSceneGlb({ points, cameras });
  const ms = performance.now() - start;
  const report = await validate(bytes);
  assert.equal(report.info.drawCallCount, 1 + cameras.length);
  assert.equal(report.info.totalVertexCount, 200_000 + 5 * cameras.length);
  assert.equal(report.info.generator, 'AnyView');
  t.diagnostic(`encode ${points.numPoints} points + ${cameras.length} frustums: ${ms.toFixed(0)} ms, ${(bytes.length / 1e6).toFixed(2)} MB; ` +
    `validator infos ${report.issues.numInfos}, hints ${report.issues.numHints}`);
});

test('DTU GT cameras (millimetres, 6 views) + points without colours: 0 errors, 0 warnings', { skip: !existsSync(DTU_JSON) && `missing ${DTU_JSON}` }, async () => {
  const { frames } = await readTransformsJson(DTU_JSON);
  const cameras: GlbCamera[] = frames.map((f) => ({ name: f.filePath, intrinsics: f.intrinsics, worldFromCamera: f.worldFromCamera }));
  const report = await validate(await encodeSceneGlb({ points: blob(5000, [0, 0, 600], 100, false), cameras }, { frustumDepth: 50, frustumColor: [0, 128, 255] }));
  assert.equal(report.info.drawCallCount, 7);
});

test('edge cases: cameras only; points with NaN left out; a single point', async () => {
  const identity = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
  const camera: GlbCamera = { name: 'only.jpg', intrinsics: { fxPx: 100, fyPx: 100, cxPx: 50, cyPx: 40, width: 100, height: 80 }, worldFromCamera: identity };
  const empty: PointCloud = { numPoints: 0, frame: 'world', positions: new Float32Array(0) };
  assert.equal((await validate(await encodeSceneGlb({ points: empty, cameras: [camera] }))).info.totalVertexCount, 5);
  const withNaN = blob(100, [0, 0, 5], 1);
  withNaN.positions[4] = Number.NaN;
  withNaN.positions[9] = Number.POSITIVE_INFINITY;
  assert.equal((await validate(await encodeSceneGlb({ points: withNaN, cameras: [camera] }))).info.totalVertexCount, 98 + 5);
  const single = blob(1, [1, 2, 3], 0);
  assert.equal((await validate(await encodeSceneGlb({ points: single, cameras: [] }))).info.totalVertexCount, 1);
});
