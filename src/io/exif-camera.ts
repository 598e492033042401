/**
 * The camera facts an image's EXIF block can give for an intrinsics prior. Read with exifr, which
 * understands JPEG, HEIC, TIFF, PNG eXIf and WebP containers; files without EXIF give an empty record.
 */
import exifr from 'exifr';

export interface ExifCamera {
  readonly make?: string;
  readonly model?: string;
  /** The lens focal length in millimetres (EXIF FocalLength). */
  readonly focalLengthMm?: number;
  /** The 35 mm-film-equivalent focal length in millimetres (EXIF FocalLengthIn35mmFilm). */
  readonly focalLength35mm?: number;
  /** Sensor pixels per millimetre along x (EXIF FocalPlaneXResolution with its unit), for the stored width. */
  readonly focalPlanePxPerMm?: number;
  /** The width the focal-plane resolution refers to (EXIF PixelXDimension), when given. */
  readonly exifImageWidth?: number;
}

const TAGS = [
  'Make', 'Model', 'FocalLength', 'FocalLengthIn35mmFormat', 'FocalPlaneXResolution', 'FocalPlaneResolutionUnit', 'ExifImageWidth',
] as const;

/** Millimetres per FocalPlaneResolutionUnit value (2 = inch, 3 = cm, 4 = mm, 5 = micrometre). */
const MM_PER_UNIT: Readonly<Record<number, number>> = { 2: 25.4, 3: 10, 4: 1, 5: 0.001 };

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Reads the camera facts from an image's bytes; unreadable or absent EXIF gives `{}` (EXIF is optional). */
export async function readExifCamera(bytes: Uint8Array): Promise<ExifCamera> {
  let tags: Record<string, unknown> | undefined;
  try {
    tags = (await exifr.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { pick: [...TAGS] })) as
      | Record<string, unknown>
      | undefined;
  } catch {
    return {};
  }
  if (!tags) return {};
  const unitValue = tags['FocalPlaneResolutionUnit'];
  const unitCode = typeof unitValue === 'number' ? unitValue : unitValue === 'inches' ? 2 : unitValue === 'cm' ? 3 : 2;
  const xResolution = positive(tags['FocalPlaneXResolution']);
  const mmPerUnit = MM_PER_UNIT[unitCode];
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const result: { -readonly [K in keyof ExifCamera]: ExifCamera[K] } = {};
  const make = text(tags['Make']);
  const model = text(tags['Model']);
  const focalLengthMm = positive(tags['FocalLength']);
  const focalLength35mm = positive(tags['FocalLengthIn35mmFormat']);
  const exifImageWidth = positive(tags['ExifImageWidth']);
  if (make) result.make = make;
  if (model) result.model = model;
  if (focalLengthMm) result.focalLengthMm = focalLengthMm;
  if (focalLength35mm) result.focalLength35mm = focalLength35mm;
  if (xResolution && mmPerUnit) result.focalPlanePxPerMm = xResolution / mmPerUnit;
  if (exifImageWidth) result.exifImageWidth = exifImageWidth;
  return result;
}
