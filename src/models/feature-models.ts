/**
 * The feature-network registry: XFeat (CVPR 2024, accelerated learned local features) as static-size ONNX
 * exports, and their resolution (explicit path, ANYVIEW_MODEL_DIR, cache, download) through resolve.ts.
 *
 * Kept apart from the depth registry (registry.ts) on purpose: depth entries carry a size rule, normalisation
 * and an output meaning that feature networks do not have, and the depth CLI must not offer a feature network.
 * The files are byte for byte those of the upstream repositories at the pinned commits (sizes and sha256 below
 * are verified after a download). Each file has one fixed input size: the size is part of the id.
 */
import type { FeatureModelSpec, LicenseInfo, ModelFile } from './model-spec.ts';
import { createModelFamilyRegistry } from './model-family.ts';

const APACHE_2: LicenseInfo = Object.freeze({
  spdx: 'Apache-2.0',
  commercialUse: true,
  url: 'https://github.com/verlab/accelerated_features/blob/main/LICENSE',
});

const VERLAB_COMMIT = 'c58e74fc86c0e1f9038e0fb8807de59d27dd30d5';
const KAZUHITO_COMMIT = '6eb24aad8997243881f275a5963acc5d19f7c332';

function verlabFile(fileName: string, upstreamPath: string, sizeBytes: number, sha256: string): ModelFile {
  return {
    variant: 'fp32',
    fileName,
    urls: [`https://raw.githubusercontent.com/verlab/accelerated_features/${VERLAB_COMMIT}/${upstreamPath}`],
    sha256,
    sizeBytes,
    source: `verlab/accelerated_features @ ${VERLAB_COMMIT} : ${upstreamPath}`,
  };
}

function kazuhitoFile(fileName: string, sizeBytes: number, sha256: string): ModelFile {
  const upstreamPath = `onnx_model/${fileName}`;
  return {
    variant: 'fp32',
    fileName,
    urls: [`https://raw.githubusercontent.com/Kazuhito00/XFeat-Image-Matching-ONNX-Sample/${KAZUHITO_COMMIT}/${upstreamPath}`],
    sha256,
    sizeBytes,
    source: `Kazuhito00/XFeat-Image-Matching-ONNX-Sample @ ${KAZUHITO_COMMIT} : ${upstreamPath}`,
  };
}

function xfeatSpec(width: number, height: number, homepage: string, file: ModelFile): FeatureModelSpec {
  return Object.freeze({
    id: `xfeat-${width}x${height}`,
    task: 'features',
    family: 'xfeat',
    displayName: `XFeat ${width}x${height}`,
    license: APACHE_2,
    homepage,
    files: Object.freeze([file]),
    input: Object.freeze({ width, height }),
    descriptorSize: 64,
  });
}

const VERLAB_HOME = 'https://github.com/verlab/accelerated_features';
const KAZUHITO_HOME = 'https://github.com/Kazuhito00/XFeat-Image-Matching-ONNX-Sample';

/** The XFeat exports, largest input first. File names are the ones ANYVIEW_MODEL_DIR holds (../shared/models). */
export const XFEAT_SPECS: readonly FeatureModelSpec[] = Object.freeze([
  xfeatSpec(640, 640, VERLAB_HOME, verlabFile('xfeat_640x640.onnx', 'weights/xfeat.onnx', 2_699_407,
    '54041f61f0d9b1968451a65fe0fd79e96692b1d8266c54a6939a73e847df5988')),
  xfeatSpec(256, 256, KAZUHITO_HOME, kazuhitoFile('xfeat_256x256.onnx', 3_694_534,
    '9b4292da0e6bdc8c3e87ae2b528ebad3dfbc9afdef696b95b22b4d21503bb5fe')),
  xfeatSpec(320, 160, KAZUHITO_HOME, kazuhitoFile('xfeat_320x160.onnx', 3_648_844,
    'ed86554254550cb73d40e6421320904fcc4ea668adf0d75367a962fcd4d65cbd')),
  xfeatSpec(320, 224, KAZUHITO_HOME, kazuhitoFile('xfeat_320x224.onnx', 3_740_789,
    '4eb3d29927367b64c1d203a42b03c7332e6b1ff3438d140c02e8f537678b481f')),
]);

/** The feature network used when none is named: the original authors' 640x640 export. */
export const DEFAULT_FEATURE_MODEL_ID = 'xfeat-640x640';

const FEATURE_FAMILY = createModelFamilyRegistry('feature model', 'an XFeat .onnx file', XFEAT_SPECS);

/** Every registered feature model, in registry order. */
export const listFeatureModels = FEATURE_FAMILY.list;
/** The spec for an id (case-insensitive), or undefined. */
export const findFeatureModelSpec = FEATURE_FAMILY.find;
/** The spec for an id; an unknown id is an InputError that lists the known ones. */
export const getFeatureModelSpec = FEATURE_FAMILY.get;
/**
 * Resolves a feature-network id or .onnx path to a local file, like resolveModel does for depth models: an existing
 * path first, then ANYVIEW_MODEL_DIR, the cache, and a download when allowed (see model-family.ts). Offline, a missing
 * file is a ModelError that names the URL and where to put the file.
 */
export const resolveFeatureModel = FEATURE_FAMILY.resolve;
