/**
 * NYU Depth v2 evaluation pairs: the Metric3D demo folder (`data/nyu_demo`: rgb/*.jpg, depth/sync_depth_*.png,
 * test_annotations.json) and the UniDepth demo pair (`assets/demo`: rgb.png, depth.png, intrinsics.npy).
 * Depth is 16-bit PNG in millimetres, 0 = invalid. Protocol: Eigen crop [45:471, 41:601], 1e-3..10 m.
 */
import path from 'node:path';
import { FormatError } from '../../core/errors.ts';
import { EIGEN_CROP_NYU } from '../depth-metrics.ts';
import {
  type DatasetSample, type DepthDataset, findLayouts, intrinsicsFromParams, isFile, isMetric3dFolder,
  listMetric3dFolder, loadRgbAndDepth, readImageSize, readNpyFloat,
} from './types.ts';

const NAME = 'nyu';

async function isUniDepthDemoFolder(folder: string): Promise<boolean> {
  return (await isFile(path.join(folder, 'rgb.png'))) && (await isFile(path.join(folder, 'depth.png'))) && (await isFile(path.join(folder, 'intrinsics.npy')));
}

async function listUniDepthDemo(folder: string): Promise<DatasetSample[]> {
  const rgbPath = path.join(folder, 'rgb.png');
  const kPath = path.join(folder, 'intrinsics.npy');
  const k = await readNpyFloat(kPath);
  if (k.shape.length !== 2 || k.shape[0] !== 3 || k.shape[1] !== 3) {
    throw new FormatError(`intrinsics must be a 3x3 matrix, got shape (${k.shape.join(', ')}).`, { file: kPath });
  }
  const size = await readImageSize(rgbPath);
  const d = k.data;
  return [{
    dataset: NAME,
    id: 'unidepth/demo',
    rgbPath,
    depthPath: path.join(folder, 'depth.png'),
    depthUnitsPerMeter: 1000,
    intrinsics: intrinsicsFromParams([d[0]!, d[4]!, d[2]!, d[5]!], size.width, size.height),
  }];
}

export const NYU_DATASET: DepthDataset = Object.freeze({
  name: NAME,
  description: 'NYU Depth v2 indoor pairs (Metric3D nyu_demo, plus the UniDepth demo pair when present); depth in mm, Eigen crop, 1e-3..10 m.',
  defaultCrop: EIGEN_CROP_NYU,
  minDepthMeters: 1e-3,
  maxDepthMeters: 10,
  async list(root: string): Promise<DatasetSample[]> {
    const layouts = await findLayouts(NAME, root, [
      {
        what: 'a Metric3D nyu_demo folder (test_annotations.json, rgb/, depth/)',
        candidates: ['.', 'nyu_demo', 'data/nyu_demo', 'metric3d_demo_nyu_kitti/data/nyu_demo'],
        matches: isMetric3dFolder,
      },
      {
        what: 'a UniDepth demo folder (rgb.png, depth.png, intrinsics.npy)',
        candidates: ['.', 'demo', 'assets/demo', 'unidepth_demo/assets/demo'],
        matches: isUniDepthDemoFolder,
      },
    ]);
    const samples: DatasetSample[] = [];
    for (const { probe, folder } of layouts) {
      samples.push(...(probe === 0 ? await listMetric3dFolder(NAME, folder, 'metric3d') : await listUniDepthDemo(folder)));
    }
    return samples;
  },
  load: loadRgbAndDepth,
});
