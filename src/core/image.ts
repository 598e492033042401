import { InputError } from './errors.ts';

export type ColorSpace = 'srgb' | 'linear';
export type ImageChannels = 1 | 3 | 4;

/**
 * A row-major, channel-interleaved (HWC) image. Pixel (x, y), channel c is at `(y * width + x) * channels + c`.
 * Uint8 data holds 0..255 codes; Float32 data holds 0..1 values (0..255 / 255), never requantised.
 */
export interface Image<TData extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  readonly width: number;
  readonly height: number;
  readonly channels: ImageChannels;
  readonly colorSpace: ColorSpace;
  readonly data: TData;
}

export function createImage<TData extends Uint8Array | Float32Array>(init: {
  width: number;
  height: number;
  channels: ImageChannels;
  data: TData;
  colorSpace?: ColorSpace;
}): Image<TData> {
  const { width, height, channels, data } = init;
  checkDimensions('Image', width, height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new InputError(`Image channels (${String(channels)}) must be 1, 3 or 4.`);
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new InputError(`Image data length (${data.length}) does not match width*height*channels (${width}*${height}*${channels} = ${expected}).`);
  }
  return { width, height, channels, colorSpace: init.colorSpace ?? 'srgb', data };
}

/** Checks that a width and height are positive integers; shared by every core factory. */
export function checkDimensions(what: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InputError(`${what} size ${width}x${height} is invalid: width and height must be positive integers.`);
  }
}
