/** Tiny generated ONNX depth models for tests; see tools/make-test-models.ts for their contracts. */
export {
  DEPTH_ANYTHING_PREPROCESSOR_CONFIG,
  DEPTH_ANYTHING_V2_SMALL_CONFIG,
  ensureTestModels,
  METRIC_MAX_DEPTH_METERS,
  MIX_WEIGHTS,
  mixChannels,
  type TestModels,
} from '../../tools/make-test-models.ts';
