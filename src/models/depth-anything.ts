/**
 * Depth Anything V1 / V2 (relative and metric): the family's data. Preprocessing, output kinds, tensor names
 * and where each checkpoint's ONNX files live. No code paths here: the registry reads these specs.
 *
 * Provenance of the file facts (sha256, sizes) is noted per file. A sha256 is only given where a stored
 * copy of the hub's own LFS pointer / blob page or a project that pins the file showed it; otherwise it is
 * left undefined (downloads then log that the file could not be verified).
 */
import type { DepthModelSpec, ImagePreprocessSpec, LicenseInfo, TensorContract } from './model-spec.ts';

/** ImageNet statistics applied to 0..1 RGB (Depth Anything READMEs, transformers preprocessor configs). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Official DA V1/V2 inference: both sides >= 518, multiples of 14, bicubic, ImageNet mean/std. */
export const DEPTH_ANYTHING_PREPROCESS: ImagePreprocessSpec = Object.freeze({
  sizeRule: 'lowerBound',
  targetPx: 518,
  multipleOf: 14,
  interpolation: 'bicubic',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
});

/** Transformers / transformers.js exports (onnx-community, Xenova): `pixel_values` -> `predicted_depth` [B,H,W]. */
export const HF_CONTRACT: TensorContract = Object.freeze({ inputName: 'pixel_values', outputName: 'predicted_depth' });
/** fabio-sim/Depth-Anything-ONNX exports: `image` -> `depth` [B,H,W]. */
export const FABIO_CONTRACT: TensorContract = Object.freeze({ inputName: 'image', outputName: 'depth' });

export const HUGGING_FACE = 'https://huggingface.co';

/** Download URL of a file in a Hugging Face model repo's main branch. */
export function huggingFaceUrl(repo: string, pathInRepo: string): string {
  return `${HUGGING_FACE}/${repo}/resolve/main/${pathInRepo}`;
}

/** Download URL of a GitHub release asset. */
export function githubReleaseUrl(repo: string, tag: string, asset: string): string {
  return `https://github.com/${repo}/releases/download/${tag}/${asset}`;
}

const FABIO_REPO = 'fabio-sim/Depth-Anything-ONNX';

export const APACHE_2: LicenseInfo = Object.freeze({
  spdx: 'Apache-2.0',
  commercialUse: true,
  url: 'https://www.apache.org/licenses/LICENSE-2.0',
});

export const CC_BY_NC_4: LicenseInfo = Object.freeze({
  spdx: 'CC-BY-NC-4.0',
  commercialUse: false,
  url: 'https://creativecommons.org/licenses/by-nc/4.0/',
});

/** V2 Base/Large weights are CC-BY-NC-4.0 (Depth-Anything-V2 README; maintainer in DA-V2#81). */
const V2_NON_COMMERCIAL: LicenseInfo = Object.freeze({
  ...CC_BY_NC_4,
  note: 'Depth Anything V2 Base and Large weights are CC-BY-NC-4.0 (code is Apache-2.0).',
});

/** Metric checkpoints: the Small ones are published as Apache-2.0 like V2-Small, but the licence is disputed. */
const V2_METRIC_SMALL_LICENSE: LicenseInfo = Object.freeze({
  ...APACHE_2,
  note: 'Licence of the V2 metric checkpoints is not stated clearly upstream (Depth-Anything-V2 issue #245, open); '
    + 'treated like V2-Small (Apache-2.0). Check before commercial use.',
});

const V2_SMALL_REPO = 'onnx-community/depth-anything-v2-small';
const V2_BASE_REPO = 'onnx-community/depth-anything-v2-base';
const V2_LARGE_REPO = 'onnx-community/depth-anything-v2-large';

export const DEPTH_ANYTHING_SPECS: readonly DepthModelSpec[] = Object.freeze([
  {
    id: 'depth-anything-v2-small',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything V2 Small',
    paramsM: 24.8,
    license: APACHE_2,
    homepage: 'https://huggingface.co/depth-anything/Depth-Anything-V2-Small-hf',
    contract: HF_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    output: { kind: 'disparity' },
    files: [
      {
        variant: 'fp32',
        fileName: 'model.onnx',
        urls: [huggingFaceUrl(V2_SMALL_REPO, 'onnx/model.onnx')],
        // sha256: HF blob page of onnx/model.onnx (LFS details); 99,060,839 bytes: pinned by several projects
        // that fetch this exact file (same sha256), repo revision 4472b736.
        sha256: 'afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c',
        sizeBytes: 99_060_839,
        source: `${V2_SMALL_REPO} (transformers.js export, dynamic batch/height/width)`,
      },
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_vits_dynamic.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v2.0.0', 'depth_anything_v2_vits_dynamic.onnx')],
        // sha256 as pinned by a third-party project that installs this asset; size not known (~95 MB).
        sha256: '46c4e8eeda3a27f34701831b6a2ec7753d7b38779b215acb5633424703deed8f',
        contract: FABIO_CONTRACT,
        source: `${FABIO_REPO} release v2.0.0 (dynamic height/width)`,
      },
      {
        variant: 'fp16',
        fileName: 'model_fp16.onnx',
        urls: [huggingFaceUrl(V2_SMALL_REPO, 'onnx/model_fp16.onnx')],
        // sha256: HF blob page (LFS details, 49.6 MB); exact size from a project that measured the file.
        sha256: '2df6223f206b5164e21f664ace61dabeb9bb6a49b8b5a3e00510b4807d0f5b04',
        sizeBytes: 49_642_442,
        source: `${V2_SMALL_REPO} (float16 weights and tensors)`,
      },
      {
        variant: 'int8',
        fileName: 'model_int8.onnx',
        urls: [huggingFaceUrl(V2_SMALL_REPO, 'onnx/model_int8.onnx')],
        // sha256: HF blob page (LFS details, 27.3 MB); exact byte size not found.
        sha256: '01aa7a23de3f4a0ee1a2bb9997e6918104c85a9f95dea46d27b9b3fb0c6b9001',
        source: `${V2_SMALL_REPO} (dynamic int8 quantisation, float32 input/output)`,
      },
      {
        variant: 'q4f16',
        fileName: 'model_q4f16.onnx',
        urls: [huggingFaceUrl(V2_SMALL_REPO, 'onnx/model_q4f16.onnx')],
        // 19.1 MB on the hub tree page; sha256 not found in stored text.
        source: `${V2_SMALL_REPO} (4-bit weights, float16 tensors)`,
      },
    ],
  },
  {
    id: 'depth-anything-v2-base',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything V2 Base',
    paramsM: 97.5,
    license: V2_NON_COMMERCIAL,
    homepage: 'https://huggingface.co/depth-anything/Depth-Anything-V2-Base-hf',
    contract: HF_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    output: { kind: 'disparity' },
    files: [
      {
        variant: 'fp32',
        fileName: 'model.onnx',
        urls: [huggingFaceUrl(V2_BASE_REPO, 'onnx/model.onnx')],
        // ~390 MB; sha256 not found in stored text.
        source: `${V2_BASE_REPO} (transformers.js export)`,
      },
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_vitb_dynamic.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v2.0.0', 'depth_anything_v2_vitb_dynamic.onnx')],
        contract: FABIO_CONTRACT,
        source: `${FABIO_REPO} release v2.0.0 (dynamic height/width)`,
      },
      {
        variant: 'fp16',
        fileName: 'model_fp16.onnx',
        urls: [huggingFaceUrl(V2_BASE_REPO, 'onnx/model_fp16.onnx')],
        source: `${V2_BASE_REPO} (float16 weights and tensors, ~195 MB)`,
      },
      {
        variant: 'int8',
        fileName: 'model_quantized.onnx',
        urls: [huggingFaceUrl(V2_BASE_REPO, 'onnx/model_quantized.onnx')],
        source: `${V2_BASE_REPO} (int8 quantisation)`,
      },
    ],
  },
  {
    id: 'depth-anything-v2-large',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything V2 Large',
    paramsM: 335.3,
    license: V2_NON_COMMERCIAL,
    homepage: 'https://huggingface.co/depth-anything/Depth-Anything-V2-Large-hf',
    contract: HF_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    output: { kind: 'disparity' },
    files: [
      {
        variant: 'fp32',
        fileName: 'model.onnx',
        urls: [huggingFaceUrl(V2_LARGE_REPO, 'onnx/model.onnx')],
        // ~1.3 GB; sha256 not found in stored text.
        source: `${V2_LARGE_REPO} (transformers.js export)`,
      },
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_vitl_dynamic.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v2.0.0', 'depth_anything_v2_vitl_dynamic.onnx')],
        contract: FABIO_CONTRACT,
        source: `${FABIO_REPO} release v2.0.0 (dynamic height/width)`,
      },
      {
        variant: 'fp16',
        fileName: 'model_fp16.onnx',
        urls: [huggingFaceUrl(V2_LARGE_REPO, 'onnx/model_fp16.onnx')],
        source: `${V2_LARGE_REPO} (float16 weights and tensors, ~670 MB)`,
      },
    ],
  },
  {
    id: 'depth-anything-v1-small',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything (V1) Small',
    paramsM: 24.8,
    license: { ...APACHE_2, note: 'Depth Anything V1 code and Small weights are Apache-2.0.' },
    homepage: 'https://huggingface.co/LiheYoung/depth-anything-small-hf',
    contract: HF_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    output: { kind: 'disparity' },
    files: [
      {
        variant: 'fp32',
        fileName: 'model.onnx',
        urls: [huggingFaceUrl('Xenova/depth-anything-small-hf', 'onnx/model.onnx')],
        // LFS pointer in the hub commit 613bcdf ("Upload folder using huggingface_hub"): oid and size.
        sha256: 'c222151fa1a941b7a075efdee44a85bb22e1bc07dce3659a03cb3f4eb53dd213',
        sizeBytes: 99_170_955,
        source: 'Xenova/depth-anything-small-hf (transformers.js export)',
      },
      {
        variant: 'fp32',
        fileName: 'depth_anything_vits14.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v1.0.0', 'depth_anything_vits14.onnx')],
        contract: FABIO_CONTRACT,
        source: `${FABIO_REPO} release v1.0.0 (static 518x518 input)`,
      },
      {
        variant: 'fp16',
        fileName: 'model_fp16.onnx',
        urls: [huggingFaceUrl('Xenova/depth-anything-small-hf', 'onnx/model_fp16.onnx')],
        source: 'Xenova/depth-anything-small-hf (float16, 49.9 MB)',
      },
      {
        variant: 'int8',
        fileName: 'model_quantized.onnx',
        urls: [huggingFaceUrl('Xenova/depth-anything-small-hf', 'onnx/model_quantized.onnx')],
        // Same LFS pointer commit as model.onnx.
        sha256: 'e4e2ffe9b0396ebd4a0c09b855762b186aab338e79f76531b09777aafc91db84',
        sizeBytes: 27_524_771,
        source: 'Xenova/depth-anything-small-hf (int8 quantisation)',
      },
    ],
  },
  {
    id: 'depth-anything-v2-metric-indoor-small',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything V2 Metric Indoor (Hypersim) Small',
    paramsM: 24.8,
    license: V2_METRIC_SMALL_LICENSE,
    homepage: 'https://huggingface.co/depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf',
    contract: HF_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    // Hypersim fine-tune: sigmoid x max_depth 20 m inside the graph (metric_depth/README.md).
    output: { kind: 'metricDepth', scaling: 'direct', maxDepthMeters: 20 },
    files: [
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_metric_indoor_small.onnx',
        urls: [huggingFaceUrl('pstic/spatialthings-onnx', 'depth_anything_v2_metric_indoor_small.onnx')],
        // Size and sha256 from that repo's model card (a community ONNX conversion of the -hf checkpoint).
        sha256: '0d9a2394746efc2666fac8cf450c9bcf5a29e45f823be21176bd7a45fffe089a',
        sizeBytes: 98_941_147,
        source: 'pstic/spatialthings-onnx (community conversion of depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf; '
          + 'tensor names not confirmed, detection falls back to the file)',
      },
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_vits_indoor_dynamic.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v2.0.0', 'depth_anything_v2_vits_indoor_dynamic.onnx')],
        contract: FABIO_CONTRACT,
        source: `${FABIO_REPO} release v2.0.0 (asset name as listed by projects that use it; not verified)`,
      },
    ],
  },
  {
    id: 'depth-anything-v2-metric-outdoor-small',
    task: 'depth',
    family: 'depth-anything',
    displayName: 'Depth Anything V2 Metric Outdoor (Virtual KITTI 2) Small',
    paramsM: 24.8,
    license: V2_METRIC_SMALL_LICENSE,
    homepage: 'https://huggingface.co/depth-anything/Depth-Anything-V2-Metric-Outdoor-Small-hf',
    contract: FABIO_CONTRACT,
    preprocess: DEPTH_ANYTHING_PREPROCESS,
    // Virtual KITTI 2 fine-tune: sigmoid x max_depth 80 m inside the graph.
    output: { kind: 'metricDepth', scaling: 'direct', maxDepthMeters: 80 },
    files: [
      {
        variant: 'fp32',
        fileName: 'depth_anything_v2_vits_outdoor_dynamic.onnx',
        urls: [githubReleaseUrl(FABIO_REPO, 'v2.0.0', 'depth_anything_v2_vits_outdoor_dynamic.onnx')],
        // No hub-hosted ONNX with a known checksum was found; asset name as listed by projects that use it.
        source: `${FABIO_REPO} release v2.0.0 (dynamic height/width; not verified)`,
      },
    ],
  },
]);
