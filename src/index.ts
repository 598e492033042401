/**
 * AnyView's public library surface. Everything a caller needs is exported here, grouped by pipeline stage;
 * anything not exported here is internal.
 */

// Core types, errors and the run context
export * from './core/index.ts';

// I/O: decoding, input discovery, output formats, safe writes
export { decodeImage, readImageHeader, DEFAULT_MAX_PIXELS, SUPPORTED_IMAGE_FORMATS, type ImageSource } from './io/decode-image.ts';
export { expandImageInputs, classifyInput, type InputKind } from './io/inputs.ts';
export { sniffFile, sniffBytes, type MediaKind } from './io/sniff.ts';
export { OUTPUT_FORMATS, getOutputFormat, type EncodedFile, type OutputFormatId } from './io/formats/index.ts';
export { encodeDepthPng16, decodeDepthPng16, type DepthPng16Mapping } from './io/formats/depth-png16.ts';
export { encodeNpy, decodeNpy, decodeNpyDepth } from './io/formats/npy.ts';
export { colorizeDepth, type DepthColorOptions } from './io/formats/depth-color.ts';
export { encodePly, decodePly } from './io/formats/ply.ts';
export { readMetricDepthFile, type MetricDepthFile } from './io/read-metric-depth.ts';
export { probeVideo, decodeVideoFrames, type VideoInfo, type VideoFrame, type VideoDecodeOptions } from './io/video-decode.ts';
export { createVideoEncoder, type VideoEncoder, type VideoEncoderOptions } from './io/video-encode.ts';
export { writeFileAtomic, ensureWritableDir } from './io/atomic-write.ts';

// Models: registry, resolution, runtime
export type { InferenceBackend, ModelSession, SessionOptions, Tensor, TensorInfo } from './models/backend.ts';
export type { DepthModelSpec, ModelSpec, ModelVariant, LicenseInfo, ImagePreprocessSpec, DepthOutputSpec } from './models/model-spec.ts';
export { listModels, getModelSpec, findModelSpec, assertLicenseAccepted } from './models/registry.ts';
export { resolveModel, defaultCacheDir, type ResolvedModel, type ResolveOptions } from './models/resolve.ts';
export { createOnnxRuntimeNodeBackend } from './models/onnxruntime-node.ts';
export { detectDepthContract, type DepthContract } from './models/contract.ts';
export { runDepthModel, runDepthModelBatch, chooseNetworkSize, type DepthBatchRequest, type DepthBatchResult } from './models/depth-adapter.ts';
export { createResizeWorkspace, type ResizeWorkspace } from './imaging/kernels/resize-kernels.ts';
export { refineMatchesSubpixel, localLinearMaps, greyFromInterleaved, type SubpixelOptions, type SubpixelResult, type GreyImage } from './imaging/subpixel-refine.ts';
export { networkInputSize } from './models/size-rule.ts';

// Geometry
export { unprojectDepth, pointMapToCloud, projectPoint, scaleIntrinsics } from './geometry/unproject.ts';
export { disparityToDepth, depthToDisparity } from './geometry/depth-convert.ts';
export {
  fitScaleShift, fitScale, fitScaleShiftRansac, fitScaleRansac, alignDisparityToDepth, alignDepthToDepth,
  type ScaleShift, type RansacScaleShift, type AlignedDepth,
} from './geometry/align-scale-shift.ts';

// Video: the window plan and temporal alignment (L4P).
export { planWindows, defaultStride, type FrameWindow } from './video/windows.ts';
export {
  createTemporalAligner, type TemporalAligner, type TemporalAlignmentOptions, type AlignedFrame, type AlignmentUnit, type UnitFit, type FrameCorrespondences,
} from './video/temporal-alignment.ts';
export { ownerWindows, createOverwriteMerger, type OverwriteMerger, type MergedFrame } from './video/overwrite-merge.ts';
export { openFrameMatcher, ALIGN_MATCHES, DEFAULT_FRAME_MATCH_OPTIONS, type AlignMatches, type FrameMatcher } from './pipeline/frame-matches.ts';

// Evaluation
export { computeDepthMetrics, meanDepthMetrics, DEPTH_METRIC_NAMES, type DepthMetrics } from './eval/depth-metrics.ts';
export { psnr, ssim, meanSquaredError, type ImageMetricOptions } from './eval/image-metrics.ts';
export { DEPTH_DATASETS, getDepthDataset, type DepthDataset } from './eval/datasets/index.ts';
export { temporalAlignmentError, reprojectionAbsRel, staticFlicker, type DepthFrame } from './eval/temporal-metrics.ts';

// Pipelines
export { createDepthEstimator, type DepthEstimator, type DepthEstimate } from './pipeline/depth-estimator.ts';
export { runDepthJob, type DepthJobSummary } from './pipeline/depth-job.ts';
export { DEFAULT_DEPTH_JOB_OPTIONS, DEPTH_OUTPUT_FORMATS, type DepthJobOptions } from './pipeline/depth-options.ts';
export { evaluateDepth, type DepthEvalResult, type EvalAlignment } from './pipeline/eval-depth.ts';
export { runVideoJob, type VideoJobOptions, type VideoJobSummary, type VideoFrameRecord } from './pipeline/video-job.ts';

// Splats: 3D/4D Gaussians (L4GM, LSM), their formats, sequences, semantics and the reference rasteriser (GaussianSet itself comes with the core types)
export { gaussiansFromDepth, type GaussiansFromDepth, type GaussiansFromDepthOptions, type GaussiansFromDepthStats } from './splat/from-depth.ts';
export { gaussiansFromPoints, meanNeighbourDistances, type GaussiansFromPointsOptions } from './splat/from-points.ts';
export { mergeGaussianViews, gatherGaussians, type MergeView, type MergeOptions, type MergedGaussians } from './splat/merge.ts';
export { correspondPixels, correspondNearest, interpolateGaussians, inBetweenFractions, type PixelFlow } from './splat/interpolate.ts';
export {
  attachSemantics, queryByClass, queryByFeature, classLabelsFor, indicesOfClass, type ClassLabelMap, type FeatureMap, type SemanticMap,
} from './splat/semantics.ts';
export { projectGaussians, type ProjectedGaussians, type ProjectOptions } from './splat/project.ts';
export { renderGaussians, renderGaussiansNaive, normalizeDepth, type RenderOptions, type RenderedGaussians } from './splat/rasterize.ts';
export { lookAt, orbitCameras, OPENCV_UP, type OrbitOptions } from './splat/camera-path.ts';
export { glWorldFromCamera, glProjectionFromIntrinsics, glCameraMatrices } from './splat/gl-camera.ts';
export { renderPointsNaive, type PointRenderOptions, type RenderedPoints } from './splat/points-naive.ts';
export {
  SPLAT_FORMATS, SPLAT_FORMAT_IDS, getSplatFormat, detectSplatFormat, decodeSplatFile, type SplatFormat, type SplatFormatId, type SplatAxes,
} from './io/formats/splat-formats.ts';
export {
  SplatSequenceWriter, openSplatSequence, type SplatSequence, type SplatSequenceManifest, type SequenceFrameEntry, type SequenceFrameFormat,
} from './io/formats/splat-sequence.ts';
export { readCamerasJson, writeCamerasJson, decodeCamerasJson, encodeCamerasJson, type CamerasJson, type CameraView } from './io/formats/cameras-json.ts';
export { DEEPLABV3_MNV2_VOC_257, VOC_CLASS_NAMES, resolveSegmentationModel, type SegmentationModelSpec } from './models/segmentation-models.ts';
export {
  runSegmentation, createClassSegmenter, openSegmentationSession,
  type ClassSegmentation, type FeatureSegmentation, type SemanticSegmenter, type ClassSegmenter, type FeatureSegmenter, type TextEmbedder,
} from './models/segmentation.ts';
export { runSplatJob, type SplatJobSummary, type SplatFileRecord, type SplatModelLocations } from './pipeline/splat-job.ts';
export { SPLAT_SEMANTICS, DEFAULT_SPLAT_OPTIONS, type SplatJobOptions, type SplatInput, type SplatSemantics } from './pipeline/splat-options.ts';
export { type SplatSequenceSummary } from './pipeline/splat-sequence-job.ts';
export { runRenderJob, cameraFromJson, cameraPathFromJson, orbitAroundSet, colorToRgb8, vocPalette, type RenderJobOptions, type RenderView, type RenderJobSummary } from './pipeline/render-job.ts';
