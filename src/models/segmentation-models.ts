/**
 * The semantic-segmentation registry: DeepLabV3 + MobileNetV2 trained on PASCAL VOC (21 classes), the TF-Hub
 * lite model converted to ONNX, and its resolution (explicit path, ANYVIEW_MODEL_DIR, cache, download) through
 * resolve.ts.
 *
 * Kept apart from the depth and feature registries for the same reason they are apart from each other: a
 * segmentation entry carries a class list and an NHWC input/output contract that the others do not have. The
 * file is byte for byte the upstream one at the pinned commit (size and sha256 verified after a download).
 */
import type { DownloadableModel, LicenseInfo } from './model-spec.ts';
import { createModelFamilyRegistry } from './model-family.ts';

export type SegmentationModelFamily = 'deeplabv3';

/**
 * The network input: the image resized (aspect ratio not kept) to exactly width x height by bilinear
 * interpolation with half-pixel centres (cv2.resize INTER_LINEAR), RGB, value = byte * scale + offset, laid out
 * as `layout` ('nhwc': [1, H, W, 3]).
 */
export interface SegmentationPreprocessSpec {
  readonly width: number;
  readonly height: number;
  readonly layout: 'nhwc';
  readonly interpolation: 'bilinear';
  readonly scale: number;
  readonly offset: number;
}

/**
 * What the network outputs. 'classLogits': per-pixel logits over `classNames` at the network resolution, laid out
 * as `layout` ('nhwc': [1, H, W, classes]); they are resized bilinearly to the image and arg-maxed.
 */
export interface SegmentationOutputSpec {
  readonly kind: 'classLogits';
  readonly layout: 'nhwc';
  readonly classNames: readonly string[];
}

/** A closed-vocabulary semantic-segmentation network (one fixed-size ONNX file per entry). */
export interface SegmentationModelSpec extends DownloadableModel {
  readonly task: 'segmentation';
  readonly family: SegmentationModelFamily;
  readonly displayName: string;
  readonly license: LicenseInfo;
  readonly preprocess: SegmentationPreprocessSpec;
  readonly output: SegmentationOutputSpec;
}

/** PASCAL VOC 2012 classes in label order (0 is background); 'tv/monitor' answers to 'tv' and 'monitor' too. */
export const VOC_CLASS_NAMES: readonly string[] = Object.freeze([
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'dining table', 'dog', 'horse', 'motorbike', 'person', 'potted plant', 'sheep', 'sofa', 'train', 'tv/monitor',
]);

const KAZUHITO_NODE_EDITOR_COMMIT = '46979d5b8eacb181abe970e4dd18e8f4cf0e750b';
const DEEPLAB_UPSTREAM_PATH = 'node/deep_learning_node/semantic_segmentation/deeplab_v3/model/deeplab_v3_1_default_1.onnx';

export const DEEPLABV3_MNV2_VOC_257: SegmentationModelSpec = Object.freeze({
  id: 'deeplabv3-mnv2-voc-257',
  task: 'segmentation',
  family: 'deeplabv3',
  displayName: 'DeepLabV3 MobileNetV2 PASCAL VOC 257x257',
  license: Object.freeze({
    spdx: 'Apache-2.0',
    commercialUse: true,
    url: 'https://github.com/Kazuhito00/Image-Processing-Node-Editor/blob/main/LICENSE',
  }),
  homepage: 'https://github.com/Kazuhito00/Image-Processing-Node-Editor',
  files: Object.freeze([Object.freeze({
    variant: 'fp32',
    fileName: 'deeplabv3_mnv2_voc_257.onnx',
    urls: Object.freeze([`https://raw.githubusercontent.com/Kazuhito00/Image-Processing-Node-Editor/${KAZUHITO_NODE_EDITOR_COMMIT}/${DEEPLAB_UPSTREAM_PATH}`]),
    sha256: '48a46b346ca7e2e96760b8a10a302046a3b5a9ce55e59d4c659c36d9cbd44118',
    sizeBytes: 2_781_296,
    source: `Kazuhito00/Image-Processing-Node-Editor @ ${KAZUHITO_NODE_EDITOR_COMMIT} : ${DEEPLAB_UPSTREAM_PATH} `
      + '(TF-Hub deeplabv3 lite model, converted by tf2onnx; input "sub_7")',
  })]),
  preprocess: Object.freeze({ width: 257, height: 257, layout: 'nhwc', interpolation: 'bilinear', scale: 1 / 127.5, offset: -1 }),
  output: Object.freeze({ kind: 'classLogits', layout: 'nhwc', classNames: VOC_CLASS_NAMES }),
});

/** The segmentation network used when none is named. */
export const DEFAULT_SEGMENTATION_MODEL_ID = DEEPLABV3_MNV2_VOC_257.id;

const SEGMENTATION_FAMILY = createModelFamilyRegistry('segmentation model', 'a DeepLabV3 .onnx file', Object.freeze([DEEPLABV3_MNV2_VOC_257]));

/** Every registered segmentation model, in registry order. */
export const listSegmentationModels = SEGMENTATION_FAMILY.list;
/** The spec for an id (case-insensitive), or undefined. */
export const findSegmentationModelSpec = SEGMENTATION_FAMILY.find;
/** The spec for an id; an unknown id is an InputError that lists the known ones. */
export const getSegmentationModelSpec = SEGMENTATION_FAMILY.get;
/**
 * Resolves a segmentation-network id or .onnx path to a local file, like resolveFeatureModel (see model-family.ts).
 */
export const resolveSegmentationModel = SEGMENTATION_FAMILY.resolve;
