/**
 * Depth Anything 3, monocular members (DA3MONO-LARGE, DA3METRIC-LARGE): the family's data.
 *
 * - Preprocessing: DA3 `process_res=504` with `upper_bound_resize` (longest side 504, each side a multiple
 *   of 14), ImageNet mean/std (DA3 docs/API.md).
 * - DA3MONO-LARGE predicts depth up to scale (larger = farther), NOT disparity (DA3 README model cards).
 * - DA3METRIC-LARGE predicts canonical depth: metres = focal_px * output / 300, with the focal length in pixels
 *   of the processed image (README FAQ; utils/alignment.py apply_metric_scaling, scale_factor = 300).
 *
 * ByteDance publishes PyTorch/safetensors weights only; the ONNX files below are community exports, named
 * with their source. Both weights are Apache-2.0 (DA3 README "Model Cards").
 */
import { APACHE_2, IMAGENET_MEAN, IMAGENET_STD, huggingFaceUrl } from './depth-anything.ts';
import type { DepthModelSpec, ImagePreprocessSpec, TensorContract } from './model-spec.ts';

export const DA3_PROCESS_RES_PX = 504;
/** DA3METRIC-LARGE: metres = focal_px * output / DA3_METRIC_SCALE. */
export const DA3_METRIC_SCALE = 300;

export const DA3_PREPROCESS: ImagePreprocessSpec = Object.freeze({
  sizeRule: 'upperBound',
  targetPx: DA3_PROCESS_RES_PX,
  multipleOf: 14,
  interpolation: 'bicubic',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
});

/** Names used by the community DA3 exports listed here (`image` -> `depth`, plus `sky` on the Large ones). */
export const DA3_CONTRACT: TensorContract = Object.freeze({ inputName: 'image', outputName: 'depth' });

const DA3_LICENSE = Object.freeze({
  ...APACHE_2,
  note: 'DA3MONO-LARGE and DA3METRIC-LARGE weights are Apache-2.0 (DA3-LARGE / GIANT are CC-BY-NC-4.0).',
});

export const DEPTH_ANYTHING_3_SPECS: readonly DepthModelSpec[] = Object.freeze([
  {
    id: 'da3mono-large',
    task: 'depth',
    family: 'depth-anything-3',
    displayName: 'Depth Anything 3 Mono Large (DA3MONO-LARGE)',
    paramsM: 350,
    license: DA3_LICENSE,
    homepage: 'https://huggingface.co/depth-anything/DA3MONO-LARGE',
    contract: DA3_CONTRACT,
    preprocess: DA3_PREPROCESS,
    output: { kind: 'relativeDepth' },
    files: [
      {
        variant: 'fp32',
        fileName: 'da3mono_l_504x378.onnx',
        urls: [huggingFaceUrl('ohaiibuzzle/DA3-ONNX', 'da3mono_l_504x378.onnx')],
        // Size and sha256 from the repo's model card table. Static input 1x3x378x504 (landscape): the
        // contract detector reports the static size, which then replaces the upper-bound rule.
        sha256: '9b1b3f1495a9273adb4abcdc3e716416a28716b6bda4f13a29da462200e931ec',
        sizeBytes: 1_336_957_133,
        source: 'ohaiibuzzle/DA3-ONNX (community export, static 504x378; outputs depth and sky)',
      },
      {
        variant: 'int8',
        fileName: 'da3mono_l_504x378_int8.onnx',
        urls: [huggingFaceUrl('ohaiibuzzle/DA3-ONNX', 'da3mono_l_504x378_int8.onnx')],
        sha256: '416ba24136fb69e2a11298fdae1ecab78e1468bd3982386551027d4048c5d2b9',
        sizeBytes: 431_206_981,
        source: 'ohaiibuzzle/DA3-ONNX (int8 MatMul weights, static 504x378)',
      },
    ],
  },
  {
    id: 'da3metric-large',
    task: 'depth',
    family: 'depth-anything-3',
    displayName: 'Depth Anything 3 Metric Large (DA3METRIC-LARGE)',
    paramsM: 350,
    license: DA3_LICENSE,
    homepage: 'https://huggingface.co/depth-anything/DA3METRIC-LARGE',
    contract: DA3_CONTRACT,
    preprocess: DA3_PREPROCESS,
    output: { kind: 'metricDepth', scaling: 'focalOver300' },
    files: [
      {
        variant: 'fp32',
        fileName: 'da3metric_large.onnx',
        urls: [huggingFaceUrl('SpatialHub/depth-anything-3-onnx', 'da3metric_large.onnx')],
        // File named on the repo's card; size, sha256 and tensor names not found in stored text
        // (detection falls back to the file's own names).
        source: 'SpatialHub/depth-anything-3-onnx (community export)',
      },
    ],
  },
]);
