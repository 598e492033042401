/** Image maths for network inputs and outputs: the official Depth Anything resizes and normalisation. */
export { resizeBicubic, resizeNormalizeToNchw, bicubicTaps, cubicWeights, type HwcFloatImage, type BicubicTaps } from './resize-bicubic.ts';
export { resizeBilinear, bilinearTaps, type ScalarMap, type BilinearOptions, type BilinearTaps } from './resize-bilinear.ts';
export { normalizeToNchw, toFloatImage, IMAGENET_MEAN, IMAGENET_STD, type HwcImage } from './normalize.ts';
