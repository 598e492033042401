/** The depth evaluation dataset table: one entry per loader, looked up by name (CLI `--dataset`). */
import { InputError } from '../../core/errors.ts';
import { KITTI_DATASET } from './kitti.ts';
import { NYU_DATASET } from './nyu.ts';
import { REDWOOD_DATASET } from './redwood.ts';
import { TUM_DATASET } from './tum.ts';
import type { DepthDataset } from './types.ts';

export type { DatasetSample, DepthDataset, LoadedSample } from './types.ts';
export { KITTI_DATASET, NYU_DATASET, REDWOOD_DATASET, TUM_DATASET };

export const DEPTH_DATASETS = Object.freeze({
  nyu: NYU_DATASET,
  kitti: KITTI_DATASET,
  tum: TUM_DATASET,
  redwood: REDWOOD_DATASET,
} as const satisfies Record<string, DepthDataset>);

export type DepthDatasetName = keyof typeof DEPTH_DATASETS;

export const DEPTH_DATASET_NAMES = Object.keys(DEPTH_DATASETS) as DepthDatasetName[];

/** The dataset called `name`; InputError listing the known names otherwise. */
export function getDepthDataset(name: string): DepthDataset {
  if (!Object.hasOwn(DEPTH_DATASETS, name)) {
    throw new InputError(`Unknown depth dataset "${name}". Should be one of: ${DEPTH_DATASET_NAMES.join(', ')}.`);
  }
  return DEPTH_DATASETS[name as DepthDatasetName];
}
