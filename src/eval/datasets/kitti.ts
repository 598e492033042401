/**
 * KITTI evaluation pairs from the Metric3D demo folder (`data/kitti_demo`: rgb/*.png, depth/*.png,
 * test_annotations.json). Depth is the annotated semi-dense GT, 16-bit PNG with value / 256 = metres, 0 = invalid.
 * Protocol: Garg crop, 1e-3..80 m.
 */
import { GARG_CROP_KITTI } from '../depth-metrics.ts';
import { type DatasetSample, type DepthDataset, findLayouts, isMetric3dFolder, listMetric3dFolder, loadRgbAndDepth } from './types.ts';

const NAME = 'kitti';

export const KITTI_DATASET: DepthDataset = Object.freeze({
  name: NAME,
  description: 'KITTI outdoor pairs (Metric3D kitti_demo, annotated depth GT); depth value/256 m, Garg crop, 1e-3..80 m.',
  defaultCrop: GARG_CROP_KITTI,
  minDepthMeters: 1e-3,
  maxDepthMeters: 80,
  async list(root: string): Promise<DatasetSample[]> {
    const layouts = await findLayouts(NAME, root, [{
      what: 'a Metric3D kitti_demo folder (test_annotations.json, rgb/, depth/)',
      candidates: ['.', 'kitti_demo', 'data/kitti_demo', 'metric3d_demo_nyu_kitti/data/kitti_demo'],
      matches: isMetric3dFolder,
    }]);
    const samples: DatasetSample[] = [];
    for (const { folder } of layouts) samples.push(...(await listMetric3dFolder(NAME, folder, 'metric3d')));
    return samples;
  },
  load: loadRgbAndDepth,
});
