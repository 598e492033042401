/**
 * TUM RGB-D frames with registered depth (16-bit PNG, value / 5000 = metres, 0 = invalid):
 * - Open3D test data `other_formats/TUM_color.png` + `TUM_depth.png` (freiburg3; TUM's fr3 intrinsics).
 * - dense-rgbd-visual-odometry pairs `examples/case_N/{img,dep}_{prev,curr}.png` with `kinect_params.txt`
 *   (a 3x3 K). Upstream ships case_2/dep_curr.png byte-identical to case_1/dep_curr.png, so any depth file
 *   that duplicates one already listed is skipped (here: case_2 curr).
 * Protocol: no crop, 1e-3..10 m.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../../core/errors.ts';
import {
  type DatasetSample, type DepthDataset, findLayouts, intrinsicsFromParams, isDirectory, isFile, loadRgbAndDepth, readImageSize,
} from './types.ts';

const NAME = 'tum';
const TUM_DEPTH_UNITS_PER_METER = 5000;
/** TUM's published freiburg3 RGB intrinsics (fx, fy, cx, cy). */
const FR3_INTRINSICS = [535.4, 539.2, 320.1, 247.6] as const;

async function isOpen3dTumFolder(folder: string): Promise<boolean> {
  return (await isFile(path.join(folder, 'TUM_color.png'))) && (await isFile(path.join(folder, 'TUM_depth.png')));
}

async function isDenseVoFolder(folder: string): Promise<boolean> {
  return (await isFile(path.join(folder, 'kinect_params.txt'))) && (await isDirectory(path.join(folder, 'case_1')));
}

async function listOpen3dTum(folder: string): Promise<DatasetSample[]> {
  const rgbPath = path.join(folder, 'TUM_color.png');
  const size = await readImageSize(rgbPath);
  return [{
    dataset: NAME,
    id: 'open3d/TUM',
    rgbPath,
    depthPath: path.join(folder, 'TUM_depth.png'),
    depthUnitsPerMeter: TUM_DEPTH_UNITS_PER_METER,
    intrinsics: intrinsicsFromParams(FR3_INTRINSICS, size.width, size.height),
  }];
}

async function readKinectParams(filePath: string): Promise<number[]> {
  const values = (await readFile(filePath, 'utf8')).trim().split(/\s+/).map(Number);
  if (values.length !== 9 || values.some((v) => !Number.isFinite(v))) {
    throw new FormatError(`expected a 3x3 intrinsics matrix (9 numbers), got ${values.length} values.`, { file: filePath });
  }
  return [values[0]!, values[4]!, values[2]!, values[5]!];
}

async function listDenseVo(folder: string): Promise<DatasetSample[]> {
  const params = await readKinectParams(path.join(folder, 'kinect_params.txt'));
  const cases = (await readdir(folder, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^case_\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const seenDepth = new Set<string>();
  const samples: DatasetSample[] = [];
  for (const caseName of cases) {
    for (const which of ['prev', 'curr'] as const) {
      const rgbPath = path.join(folder, caseName, `img_${which}.png`);
      const depthPath = path.join(folder, caseName, `dep_${which}.png`);
      if (!(await isFile(rgbPath)) || !(await isFile(depthPath))) continue;
      const digest = createHash('sha256').update(await readFile(depthPath)).digest('hex');
      if (seenDepth.has(digest)) continue; // upstream duplicate depth (case_2/dep_curr): not this frame's GT
      seenDepth.add(digest);
      const size = await readImageSize(rgbPath);
      samples.push({
        dataset: NAME,
        id: `densevo/${caseName}/${which}`,
        rgbPath,
        depthPath,
        depthUnitsPerMeter: TUM_DEPTH_UNITS_PER_METER,
        intrinsics: intrinsicsFromParams(params, size.width, size.height),
      });
    }
  }
  return samples;
}

export const TUM_DATASET: DepthDataset = Object.freeze({
  name: NAME,
  description: 'TUM RGB-D indoor frames (Open3D TUM pair, dense-rgbd-visual-odometry pairs minus the duplicated case_2 depth); depth value/5000 m, no crop, 1e-3..10 m.',
  defaultCrop: null,
  minDepthMeters: 1e-3,
  maxDepthMeters: 10,
  async list(root: string): Promise<DatasetSample[]> {
    const layouts = await findLayouts(NAME, root, [
      {
        what: 'an Open3D other_formats folder (TUM_color.png, TUM_depth.png)',
        candidates: ['.', 'other_formats', 'RGBD/other_formats', 'test_data/RGBD/other_formats', 'examples/test_data/RGBD/other_formats', 'open3d_rgbd_testdata/examples/test_data/RGBD/other_formats'],
        matches: isOpen3dTumFolder,
      },
      {
        what: 'a dense-rgbd-visual-odometry examples folder (kinect_params.txt, case_N/)',
        candidates: ['.', 'examples', 'tum_rgbd_pairs_densevo/examples'],
        matches: isDenseVoFolder,
      },
    ]);
    const samples: DatasetSample[] = [];
    for (const { probe, folder } of layouts) {
      samples.push(...(probe === 0 ? await listOpen3dTum(folder) : await listDenseVo(folder)));
    }
    return samples;
  },
  load: loadRgbAndDepth,
});
