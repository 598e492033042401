/**
 * Builds SuperGlue-format pair files (name0 name1 rot0 rot1 K0 K1 T_0to1) from the ground-truth poses in
 * ../shared/data, for `anyview eval pose-pairs`: NeRF-synthetic lego (20 views), DTU scan24 (6 views) and the
 * two TUM RGB-D pairs. Names are relative to the dataset folder printed for each file (pass it as --images).
 * Usage: node --import tsx tools/make-pair-files.ts [outDir]   (default .cache/pairs)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromRotationTranslation, type Mat4 } from '../src/core/mat4.ts';
import { ensureWritableDir } from '../src/io/atomic-write.ts';
import { readImageHeader } from '../src/io/decode-image.ts';
import { readTransformsJson } from '../src/io/formats/transforms-json.ts';
import { pairFromCameras, writePairFile, type PosePair } from '../src/eval/pair-file.ts';
import { rotationFromQuaternion, rotationAngleDeg, mul3, transpose3 } from '../src/geometry/mat3.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface PairSet {
  readonly name: string;
  readonly file: string;
  /** The folder the names in the file are relative to. */
  readonly imagesDir: string;
  /** Ground-truth transforms.json for the multi-view sets (for `anyview eval poses`). */
  readonly gtFile?: string;
  readonly pairs: number;
}

interface GtView { readonly name: string; readonly k: Float64Array; readonly worldFromCamera: Mat4 }

function kOf(fx: number, fy: number, cx: number, cy: number): Float64Array {
  return Float64Array.of(fx, 0, cx, 0, fy, cy, 0, 0, 1);
}

function rotationOf(m: Mat4): Float64Array {
  return Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!);
}

/** Pairs whose viewing directions differ by at most maxAngleDeg (all pairs when Infinity). */
function pairsWithin(views: readonly GtView[], maxAngleDeg: number): PosePair[] {
  const pairs: PosePair[] = [];
  for (let i = 0; i < views.length; i++) {
    for (let j = i + 1; j < views.length; j++) {
      const angle = rotationAngleDeg(mul3(transpose3(rotationOf(views[i]!.worldFromCamera)), rotationOf(views[j]!.worldFromCamera)));
      if (angle <= maxAngleDeg) pairs.push(pairFromCameras(views[i]!, views[j]!));
    }
  }
  return pairs;
}

async function viewsFromTransforms(jsonPath: string, root: string): Promise<GtView[]> {
  const { frames } = await readTransformsJson(jsonPath, { imageSize: (p) => readImageHeader({ path: p }) });
  return frames.map((f) => ({
    name: path.relative(root, f.imagePath),
    k: kOf(f.intrinsics.fxPx, f.intrinsics.fyPx, f.intrinsics.cxPx, f.intrinsics.cyPx),
    worldFromCamera: f.worldFromCamera,
  }));
}

/** TUM `tx ty tz qx qy qz qw` (world <- camera) as a Mat4. */
async function tumPose(file: string): Promise<Mat4> {
  const v = (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number);
  if (v.length !== 7 || !v.every(Number.isFinite)) throw new Error(`${file}: expected 7 numbers`);
  return fromRotationTranslation(rotationFromQuaternion([v[6]!, v[3]!, v[4]!, v[5]!]), [v[0]!, v[1]!, v[2]!]);
}

export async function makePairFiles(sharedDataDir: string, outDir: string): Promise<PairSet[]> {
  await ensureWritableDir(outDir);
  const sets: PairSet[] = [];
  const legoDir = path.join(sharedDataDir, 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego');
  const legoGt = path.join(legoDir, 'transforms_train.json');
  const lego = pairsWithin(await viewsFromTransforms(legoGt, legoDir), 60);
  const dtuDir = path.join(sharedDataDir, 'dtu_scan24_nerf_baseline/data/dtu_scan24');
  const dtuGt = path.join(dtuDir, 'transforms.json');
  const dtu = pairsWithin(await viewsFromTransforms(dtuGt, dtuDir), Infinity);
  const tumDir = path.join(sharedDataDir, 'tum_rgbd_pairs_densevo/examples');
  const kinect = kOf(525, 525, 319.5, 239.5);
  const tum: PosePair[] = [];
  for (const c of ['case_1', 'case_2']) {
    tum.push(pairFromCameras(
      { name: `${c}/img_prev.png`, k: kinect, worldFromCamera: await tumPose(path.join(tumDir, c, 'pose_prev.txt')) },
      { name: `${c}/img_curr.png`, k: kinect, worldFromCamera: await tumPose(path.join(tumDir, c, 'pose_curr.txt')) },
    ));
  }
  for (const [name, pairs, imagesDir, gtFile] of [
    ['lego', lego, legoDir, legoGt], ['dtu', dtu, dtuDir, dtuGt], ['tum', tum, tumDir, undefined],
  ] as const) {
    const file = path.join(outDir, `${name}-pairs.txt`);
    await writePairFile(file, pairs, [`built from ground truth in ${path.relative(sharedDataDir, imagesDir)}; names relative to that folder`]);
    sets.push({ name, file, imagesDir, pairs: pairs.length, ...(gtFile ? { gtFile } : {}) });
  }
  return sets;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const shared = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(REPO_ROOT, '..', 'shared');
  const out = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, '.cache', 'pairs'));
  for (const set of await makePairFiles(path.join(shared, 'data'), out)) {
    console.log(`${set.name}: ${set.pairs} pairs -> ${set.file} (--images ${set.imagesDir})`);
  }
}
