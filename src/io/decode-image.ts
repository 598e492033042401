/**
 * Image decoding: any supported file -> a 3-channel sRGB uint8 `Image`, EXIF orientation applied.
 *
 * Decoding goes through sharp (libvips) for JPEG, PNG, WebP, TIFF, GIF and AVIF/HEIF, and through a small
 * built-in reader for binary PPM/PGM (P6/P5, e.g. the FlyingChairs frames), which sharp's prebuilt binaries lack.
 * The header is read first, so an image bigger than `maxPixels` is refused before any pixel memory is allocated.
 * Corrupt and truncated data fail loudly (sharp `failOn: 'warning'`) instead of coming back partly grey.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { FormatError, InputError } from '../core/errors.ts';
import { createImage, type Image } from '../core/image.ts';

/** An image to decode: a file on disk, or bytes already in memory with a name to use in messages. */
export type ImageSource = { readonly path: string } | { readonly bytes: Uint8Array; readonly name: string };

/** How strict decoding is about damaged data; sharp's `failOn` levels, from most to least strict. */
export type DecodeStrictness = 'warning' | 'error' | 'truncated';

export interface DecodeImageOptions {
  /** Largest accepted width*height (of the stored image). Default DEFAULT_MAX_PIXELS (100 MP). */
  readonly maxPixels?: number;
  /**
   * 'warning' (default) refuses any data libjpeg/libpng complain about, including corrupt JPEG entropy data;
   * 'error' tolerates warnings but refuses errors and truncation; 'truncated' refuses only truncation.
   */
  readonly strictness?: DecodeStrictness;
  /** How the caller's user raises the limit, named in the error, e.g. '--max-pixels'. Default: the maxPixels option. */
  readonly maxPixelsFlag?: string;
  /**
   * What happens to an alpha channel: 'drop' (default) keeps the stored colour of every pixel;
   * 'flattenWhite' / 'flattenBlack' composite over that background (object captures with a transparent
   * background, such as NeRF-synthetic renders, need this for feature matching).
   */
  readonly alpha?: AlphaHandling;
  /** Scale down (aspect kept, see sizeWithinLongSide) so that the longer side is at most this many pixels. */
  readonly maxSidePx?: number;
}

/** The size of a width x height image scaled down to a longer side of at most maxSidePx (rounded, at least 1 px). */
export function sizeWithinLongSide(width: number, height: number, maxSidePx: number | undefined): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (maxSidePx === undefined || longest <= maxSidePx) return { width, height };
  const s = maxSidePx / longest;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

export type AlphaHandling = 'drop' | 'flattenWhite' | 'flattenBlack';

export const DEFAULT_MAX_PIXELS = 100_000_000;

/** The image formats decodeImage accepts, as named in messages. */
export const SUPPORTED_IMAGE_FORMATS: readonly string[] = Object.freeze([
  'JPEG', 'PNG', 'WebP', 'TIFF', 'GIF', 'AVIF (AV1 HEIF)', 'PPM/PGM (binary P6/P5)',
]);

/** The sharp decoders we accept. SVG (vector, can reference other files) and libvips' own format are refused. */
const SHARP_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);

export interface ImageHeader {
  /** Displayed width and height, after the EXIF orientation is applied. */
  readonly width: number;
  readonly height: number;
  /** Width and height as stored in the file (before orientation). */
  readonly storedWidth: number;
  readonly storedHeight: number;
  /** EXIF orientation 1..8 (1 when absent). 5..8 swap width and height. */
  readonly orientation: number;
  /** The decoder's name: 'jpeg', 'png', 'webp', 'tiff', 'gif', 'heif' or 'pnm'. */
  readonly format: string;
}

/** Reads only the header: dimensions (orientation-corrected), orientation and format. Cheap; allocates no pixels. */
export async function readImageHeader(source: ImageSource): Promise<ImageHeader> {
  const { bytes, name } = await loadSource(source);
  return headerOf(bytes, name, 'warning');
}

/**
 * Decodes an image to 3-channel sRGB uint8: alpha is dropped (or composited, see `alpha`), greyscale is expanded,
 * 16-bit samples keep their high byte (v >> 8, so 8->16->8 is exact), CMYK and embedded ICC profiles are
 * converted to sRGB, and the EXIF orientation is applied so width and height are the displayed ones.
 * Multi-frame files (GIF, WebP, TIFF) give their first frame.
 *
 * Throws InputError for a missing file, a folder, or an image over `maxPixels`; FormatError for anything
 * that is not a supported image, an empty or zero-size image, and corrupt or truncated data.
 */
export async function decodeImage(source: ImageSource, options: DecodeImageOptions = {}): Promise<Image<Uint8Array>> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(Number.isInteger(maxPixels) && maxPixels > 0)) {
    throw new InputError(`maxPixels (${maxPixels}) must be a positive integer.`);
  }
  const strictness = options.strictness ?? 'warning';
  const { bytes, name } = await loadSource(source);
  const stored = await headerOf(bytes, name, strictness);
  checkPixelLimit(stored, maxPixels, name, options.maxPixelsFlag);

  if (stored.format === 'pnm') return shrinkToLongSide(decodePnm(bytes, name), options.maxSidePx);

  let result: { data: Buffer; info: OutputInfo };
  try {
    const alpha = options.alpha ?? 'drop';
    let pipeline = sharp(bytes, { failOn: strictness, limitInputPixels: maxPixels, autoOrient: true });
    if (alpha !== 'drop') pipeline = pipeline.flatten({ background: alpha === 'flattenWhite' ? '#ffffff' : '#000000' });
    result = await pipeline
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new FormatError(
      `corrupt or truncated ${formatLabel(stored.format)} data (${firstLine(error)}).`,
      { file: name, cause: error },
    );
  }
  const { data, info } = result;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new FormatError(`decoding gave ${info.channels} channels at ${info.width}x${info.height}; expected 3-channel RGB.`, { file: name });
  }
  return shrinkToLongSide(createImage({
    width: info.width,
    height: info.height,
    channels: 3,
    colorSpace: 'srgb',
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  }), options.maxSidePx);
}

/** The image scaled down (area-averaging shrink, then Lanczos) to sizeWithinLongSide; unchanged when it fits. */
async function shrinkToLongSide(image: Image<Uint8Array>, maxSidePx: number | undefined): Promise<Image<Uint8Array>> {
  if (maxSidePx !== undefined && !(Number.isInteger(maxSidePx) && maxSidePx > 0)) throw new InputError(`maxSidePx (${maxSidePx}) must be a positive integer.`);
  const target = sizeWithinLongSide(image.width, image.height, maxSidePx);
  if (target.width === image.width && target.height === image.height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(target.width, target.height, { fit: 'fill' }).raw().toBuffer();
  return createImage({ ...target, channels: 3, colorSpace: 'srgb', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

// ---------------------------------------------------------------------------------------------------------------

async function loadSource(source: ImageSource): Promise<{ bytes: Uint8Array; name: string }> {
  if ('bytes' in source) return { bytes: source.bytes, name: source.name };
  const file = source.path;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(file)).isDirectory();
  } catch (error) {
    throw new InputError(`cannot read image: ${describeFsError(error)}.`, { file, cause: error });
  }
  if (isDirectory) throw new InputError('is a folder, not an image file.', { file });
  try {
    return { bytes: await readFile(file), name: file };
  } catch (error) {
    throw new InputError(`cannot read image: ${describeFsError(error)}.`, { file, cause: error });
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  return firstLine(error);
}

async function headerOf(bytes: Uint8Array, name: string, strictness: DecodeStrictness): Promise<ImageHeader> {
  if (bytes.length === 0) throw new FormatError('empty file (0 bytes), not an image.', { file: name });
  if (isPnm(bytes)) {
    const { width, height } = parsePnmHeader(bytes, name);
    return { width, height, storedWidth: width, storedHeight: height, orientation: 1, format: 'pnm' };
  }
  let metadata: Metadata;
  try {
    // limitInputPixels: false so a huge header still reports its size (we apply our own, clearer limit).
    metadata = await sharp(bytes, { failOn: strictness, limitInputPixels: false }).metadata();
  } catch (error) {
    const message = firstLine(error);
    if (/unsupported image format/i.test(message)) throw unsupported(name, bytes);
    throw new FormatError(`corrupt or truncated image header (${message}).`, { file: name, cause: error });
  }
  if (!SHARP_FORMATS.has(metadata.format)) throw unsupported(name, bytes, metadata.format);
  if (metadata.format === 'heif' && metadata.compression === 'hevc') {
    throw new FormatError('HEIC (HEVC-compressed HEIF) is not supported, only AVIF: convert it to JPEG or PNG.', { file: name });
  }
  const storedWidth = metadata.width ?? 0;
  const storedHeight = metadata.height ?? 0;
  if (!(storedWidth > 0 && storedHeight > 0)) {
    throw new FormatError(`image has zero size (${storedWidth}x${storedHeight}).`, { file: name });
  }
  const orientation = metadata.orientation !== undefined && metadata.orientation >= 1 && metadata.orientation <= 8
    ? metadata.orientation : 1;
  const swap = orientation >= 5;
  return {
    width: swap ? storedHeight : storedWidth,
    height: swap ? storedWidth : storedHeight,
    storedWidth,
    storedHeight,
    orientation,
    format: metadata.format,
  };
}

function checkPixelLimit(header: ImageHeader, maxPixels: number, name: string, flag: string | undefined): void {
  const pixels = header.storedWidth * header.storedHeight;
  if (pixels > maxPixels) {
    const fix = flag !== undefined
      ? `raise the limit with ${flag} (e.g. ${flag} ${suggestLimit(pixels)})`
      : `raise the limit with the maxPixels option (e.g. maxPixels: ${suggestLimit(pixels)})`;
    throw new InputError(
      `image is ${header.width}x${header.height} = ${formatMegapixels(pixels)}, over the limit of ${formatMegapixels(maxPixels)} ` +
      `(${maxPixels} pixels). Downscale it, or ${fix}.`,
      { file: name },
    );
  }
}

function formatMegapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(pixels < 1e7 ? 2 : 1)} MP`;
}

function suggestLimit(pixels: number): number {
  const step = 10 ** Math.max(0, Math.floor(Math.log10(pixels)) - 1);
  return Math.ceil(pixels / step) * step;
}

function unsupported(name: string, bytes: Uint8Array, detected?: string): FormatError {
  const what = detected !== undefined ? `${detected} images are not supported` : 'not a supported image';
  const hint = looksLikeBmp(bytes) ? ' BMP is not supported: convert it to PNG.' : '';
  return new FormatError(`${what} (supported: ${SUPPORTED_IMAGE_FORMATS.join(', ')}).${hint}`, { file: name });
}

function looksLikeBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

function formatLabel(format: string): string {
  return format === 'heif' ? 'AVIF/HEIF' : format.toUpperCase();
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

// ------------------------------------------------ binary PPM / PGM ------------------------------------------------

function isPnm(bytes: Uint8Array): boolean {
  // 'P5' or 'P6' followed by whitespace.
  return bytes.length >= 3 && bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x36) && isSpace(bytes[2]!);
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

interface PnmHeader {
  readonly channels: 1 | 3;
  readonly width: number;
  readonly height: number;
  readonly maxValue: number;
  readonly dataOffset: number;
}

/** Parses 'P6'/'P5', width, height, maxval (with '#' comments), then exactly one whitespace byte. */
function parsePnmHeader(bytes: Uint8Array, name: string): PnmHeader {
  const channels = bytes[1] === 0x36 ? 3 : 1;
  let pos = 2;
  const fields: number[] = [];
  while (fields.length < 3) {
    while (pos < bytes.length && (isSpace(bytes[pos]!) || bytes[pos] === 0x23)) {
      if (bytes[pos] === 0x23) while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
      else pos++;
    }
    const start = pos;
    let value = 0;
    while (pos < bytes.length && bytes[pos]! >= 0x30 && bytes[pos]! <= 0x39 && pos - start < 10) {
      value = value * 10 + (bytes[pos]! - 0x30);
      pos++;
    }
    if (pos === start || pos >= bytes.length || !isSpace(bytes[pos]!)) {
      throw new FormatError('corrupt PPM/PGM header.', { file: name, byteOffset: pos });
    }
    fields.push(value);
  }
  const [width, height, maxValue] = fields as [number, number, number];
  if (width === 0 || height === 0) throw new FormatError(`image has zero size (${width}x${height}).`, { file: name });
  if (maxValue < 1 || maxValue > 65535) {
    throw new FormatError(`PPM/PGM maxval ${maxValue} is outside 1..65535.`, { file: name });
  }
  return { channels, width, height, maxValue, dataOffset: pos + 1 };
}

function decodePnm(bytes: Uint8Array, name: string): Image<Uint8Array> {
  const { channels, width, height, maxValue, dataOffset } = parsePnmHeader(bytes, name);
  const bytesPerSample = maxValue > 255 ? 2 : 1;
  const samples = width * height * channels;
  const needed = dataOffset + samples * bytesPerSample;
  if (bytes.length < needed) {
    throw new FormatError(`truncated PPM/PGM data: ${bytes.length} bytes, expected ${needed}.`, { file: name, byteOffset: bytes.length });
  }
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const s = (i * channels + (channels === 3 ? c : 0)) * bytesPerSample + dataOffset;
      // Big-endian 16-bit per the Netpbm spec.
      const raw = bytesPerSample === 2 ? (bytes[s]! << 8) | bytes[s + 1]! : bytes[s]!;
      out[i * 3 + c] = maxValue === 255 ? raw : maxValue === 65535 ? raw >> 8 : Math.min(255, Math.round((raw * 255) / maxValue));
    }
  }
  return createImage({ width, height, channels: 3, colorSpace: 'srgb', data: out });
}
