/**
 * colmap: COLMAP sparse models (cameras, images, points3D) in both of COLMAP's encodings, text (`*.txt`, with the
 * header comments COLMAP 3.8 writes and its `%.17g` number format, so our files read like COLMAP's own) and binary
 * (`*.bin`, little-endian). Spec: COLMAP's doc/format.rst and reconstruction.cc (3.8).
 *
 * Conventions kept exactly as COLMAP defines them, so a model round-trips through COLMAP unchanged:
 * - an image pose is `cameraFromWorld` (x_cam = R(qvec) x_world + tvec), qvec = (w, x, y, z), Hamilton;
 *   camera axes x right, y down, z forward (OpenCV);
 * - pixel coordinates (principal points, points2D) put the centre of the top-left pixel at (0.5, 0.5), half a pixel
 *   off this project's convention (centre at 0, 0). The conversion helpers below add or remove COLMAP_PIXEL_OFFSET;
 *   the raw model keeps COLMAP's numbers.
 *
 * This module depends only on core (the io layer rule), so the little quaternion math it needs is written here.
 */
import { quaternionFromRotation, rotationFromQuaternion } from '../../core/quaternion.ts';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Intrinsics } from '../../core/camera.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import type { Mat4 } from '../../core/mat4.ts';
import { ensureWritableDir, writeFileAtomic } from '../atomic-write.ts';

/** COLMAP puts the centre of the top-left pixel at (0.5, 0.5); this project puts it at (0, 0). */
export const COLMAP_PIXEL_OFFSET = 0.5;

/** COLMAP's camera models: id (as stored in cameras.bin), name (cameras.txt) and parameter names, in file order. */
export const COLMAP_CAMERA_MODELS = Object.freeze([
  { id: 0, name: 'SIMPLE_PINHOLE', params: ['f', 'cx', 'cy'] },
  { id: 1, name: 'PINHOLE', params: ['fx', 'fy', 'cx', 'cy'] },
  { id: 2, name: 'SIMPLE_RADIAL', params: ['f', 'cx', 'cy', 'k'] },
  { id: 3, name: 'RADIAL', params: ['f', 'cx', 'cy', 'k1', 'k2'] },
  { id: 4, name: 'OPENCV', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2'] },
  { id: 5, name: 'OPENCV_FISHEYE', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'k3', 'k4'] },
  { id: 6, name: 'FULL_OPENCV', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2', 'k3', 'k4', 'k5', 'k6'] },
  { id: 7, name: 'FOV', params: ['fx', 'fy', 'cx', 'cy', 'omega'] },
  { id: 8, name: 'SIMPLE_RADIAL_FISHEYE', params: ['f', 'cx', 'cy', 'k'] },
  { id: 9, name: 'RADIAL_FISHEYE', params: ['f', 'cx', 'cy', 'k1', 'k2'] },
  { id: 10, name: 'THIN_PRISM_FISHEYE', params: ['fx', 'fy', 'cx', 'cy', 'k1', 'k2', 'p1', 'p2', 'k3', 'k4', 'sx1', 'sy1'] },
] as const);

export type ColmapCameraModelName = (typeof COLMAP_CAMERA_MODELS)[number]['name'];
type ColmapCameraModelSpec = (typeof COLMAP_CAMERA_MODELS)[number];

export interface ColmapCamera {
  readonly id: number;
  readonly model: ColmapCameraModelName;
  readonly width: number;
  readonly height: number;
  /** The model's parameters in COLMAP's order (COLMAP_CAMERA_MODELS), principal point in COLMAP pixels. */
  readonly params: Float64Array;
}

export interface ColmapImage {
  readonly id: number;
  /** Rotation of `cameraFromWorld` as a quaternion (w, x, y, z), Hamilton convention. */
  readonly qvec: Float64Array;
  /** Translation of `cameraFromWorld`. */
  readonly tvec: Float64Array;
  readonly cameraId: number;
  /** Path relative to the image folder; no whitespace in text models (COLMAP splits the line on spaces). */
  readonly name: string;
  /** Keypoints x, y interleaved, COLMAP pixel coordinates (top-left pixel centre at 0.5, 0.5). */
  readonly points2D: Float64Array;
  /** Per keypoint: the id of the 3D point it observes, or -1. Integers (exact up to 2^53). */
  readonly point3DIds: Float64Array;
}

export interface ColmapPoint3D {
  readonly id: number;
  /** x, y, z (3 values). Readers return plain arrays: millions of tiny typed arrays are slow to allocate. */
  readonly xyz: ArrayLike<number>;
  /** sRGB colour, 3 values 0..255. */
  readonly rgb: ArrayLike<number>;
  /** Mean reprojection error in pixels (COLMAP writes -1 before bundle adjustment). */
  readonly error: number;
  /** Observations (image id, point2D index) interleaved. */
  readonly track: ArrayLike<number>;
}

/** A sparse model. Arrays keep file order; ids are what link them (COLMAP's ids need not be contiguous). */
export interface ColmapModel {
  readonly cameras: readonly ColmapCamera[];
  readonly images: readonly ColmapImage[];
  readonly points3D: readonly ColmapPoint3D[];
}

export type ColmapFormat = 'text' | 'binary';

export const COLMAP_FILE_NAMES: Readonly<Record<ColmapFormat, { cameras: string; images: string; points3D: string }>> = Object.freeze({
  text: { cameras: 'cameras.txt', images: 'images.txt', points3D: 'points3D.txt' },
  binary: { cameras: 'cameras.bin', images: 'images.bin', points3D: 'points3D.bin' },
});

/** One encoded file per part of the model. */
export interface ColmapEncodedModel<T> {
  readonly cameras: T;
  readonly images: T;
  readonly points3D: T;
}

const MODEL_BY_NAME = new Map<string, ColmapCameraModelSpec>(COLMAP_CAMERA_MODELS.map((m) => [m.name, m]));
const MODEL_BY_ID = new Map<number, ColmapCameraModelSpec>(COLMAP_CAMERA_MODELS.map((m) => [m.id, m]));
const UINT32_MAX = 0xffffffff;

export function colmapCameraModel(name: ColmapCameraModelName): ColmapCameraModelSpec {
  return MODEL_BY_NAME.get(name)!;
}

// ---------------------------------------------------------------------------------------------------------------
// Consistency

/**
 * Everything that would make COLMAP reject or misread the model: duplicate or out-of-range ids, parameter counts,
 * dangling references, and tracks that disagree with the images' point3D ids (COLMAP needs both sides to match).
 * Returns one message per problem (at most `limit`), empty when the model is consistent.
 */
export function findColmapModelProblems(model: ColmapModel, limit = 20): string[] {
  const problems: string[] = [];
  const report = (message: string): boolean => {
    if (problems.length < limit) problems.push(message);
    return problems.length < limit;
  };
  const cameraIds = new Set<number>();
  for (const c of model.cameras) {
    if (!isUint32(c.id) || cameraIds.has(c.id)) report(`camera id ${c.id} is duplicate or not a uint32`);
    cameraIds.add(c.id);
    const spec = MODEL_BY_NAME.get(c.model);
    if (spec === undefined) report(`camera ${c.id}: unknown model ${c.model}`);
    else if (c.params.length !== spec.params.length) report(`camera ${c.id}: ${c.model} needs ${spec.params.length} params, has ${c.params.length}`);
    if (!isPositiveInteger(c.width) || !isPositiveInteger(c.height)) report(`camera ${c.id}: size ${c.width}x${c.height} is not positive integers`);
  }
  const pointById = new Map<number, ColmapPoint3D>();
  for (const p of model.points3D) {
    if (!Number.isSafeInteger(p.id) || p.id < 0 || pointById.has(p.id)) report(`point3D id ${p.id} is duplicate or not a non-negative integer`);
    pointById.set(p.id, p);
    if (p.xyz.length !== 3 || p.rgb.length !== 3 || p.track.length % 2 !== 0) report(`point3D ${p.id}: xyz, rgb or track has the wrong length`);
    for (let k = 0; k < 3; k++) {
      const c = p.rgb[k]!;
      if (!(Number.isInteger(c) && c >= 0 && c <= 255)) report(`point3D ${p.id}: colour ${c} is not a byte`);
    }
    for (let k = 0; k < p.track.length; k++) {
      if (!isUint32(p.track[k]!)) { report(`point3D ${p.id}: track value ${p.track[k]} is not a uint32`); break; }
    }
  }
  const imageById = new Map<number, ColmapImage>();
  let imageObservations = 0;
  for (const im of model.images) {
    if (!isUint32(im.id) || imageById.has(im.id)) report(`image id ${im.id} is duplicate or not a uint32`);
    imageById.set(im.id, im);
    if (!cameraIds.has(im.cameraId)) report(`image ${im.id}: camera ${im.cameraId} does not exist`);
    if (im.qvec.length !== 4 || im.tvec.length !== 3) report(`image ${im.id}: qvec needs 4 and tvec 3 values`);
    if (im.name.length === 0 || im.name.includes('\0')) report(`image ${im.id}: name must be non-empty without NUL`);
    if (im.points2D.length !== im.point3DIds.length * 2) report(`image ${im.id}: points2D has ${im.points2D.length} values for ${im.point3DIds.length} point3D ids`);
    for (let k = 0; k < im.point3DIds.length; k++) {
      const id = im.point3DIds[k]!;
      if (id === -1) continue;
      imageObservations++;
      if (!pointById.has(id) && !report(`image ${im.id} point2D ${k}: point3D ${id} does not exist`)) return problems;
    }
  }
  let trackObservations = 0;
  const seen = new Map<number, Uint8Array>();
  for (const p of model.points3D) {
    for (let k = 0; k + 1 < p.track.length; k += 2) {
      trackObservations++;
      const imageId = p.track[k]!, idx = p.track[k + 1]!;
      const im = imageById.get(imageId);
      if (im === undefined || idx >= im.point3DIds.length) {
        if (!report(`point3D ${p.id}: track element (${imageId}, ${idx}) names no keypoint`)) return problems;
        continue;
      }
      if (im.point3DIds[idx] !== p.id && !report(`point3D ${p.id}: image ${imageId} point2D ${idx} refers to point3D ${im.point3DIds[idx]}`)) return problems;
      let flags = seen.get(imageId);
      if (flags === undefined) seen.set(imageId, (flags = new Uint8Array(im.point3DIds.length)));
      if (flags[idx] === 1 && !report(`point3D ${p.id}: observation (${imageId}, ${idx}) appears twice in the tracks`)) return problems;
      flags[idx] = 1;
    }
  }
  if (imageObservations !== trackObservations) {
    report(`images reference 3D points ${imageObservations} times but tracks hold ${trackObservations} observations`);
  }
  return problems;
}

/** Number of observations (keypoints with a 3D point), as COLMAP's model_analyzer counts them. */
export function countColmapObservations(model: ColmapModel): number {
  let n = 0;
  for (const im of model.images) for (const id of im.point3DIds) if (id !== -1) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Text format

/**
 * Formats a double as C++ iostreams do with precision 17 (printf "%.17g"), as COLMAP writes its text models:
 * 17 significant digits (enough to read back the same double), trailing zeros dropped, exponent form outside
 * 1e-5..1e17. Exact ties round half to even like glibc, so our files match COLMAP's byte for byte.
 */
export function formatColmapDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const [digits, exponent] = seventeenDigits(Math.abs(x));
  if (exponent < -4 || exponent >= 17) {
    const fraction = digits.slice(1).replace(/0+$/, '');
    const e = `${exponent < 0 ? '-' : '+'}${Math.abs(exponent).toString().padStart(2, '0')}`;
    return `${sign}${digits[0]}${fraction === '' ? '' : `.${fraction}`}e${e}`;
  }
  const padded = exponent < 0 ? '0'.repeat(-exponent) + digits : digits;
  const pointAt = exponent < 0 ? 1 : exponent + 1;
  const fraction = padded.slice(pointAt).replace(/0+$/, '');
  return `${sign}${padded.slice(0, pointAt)}${fraction === '' ? '' : `.${fraction}`}`;
}

/** The 17 significant digits of a positive double and its decimal exponent, ties to even. */
function seventeenDigits(x: number): [string, number] {
  const [mantissa, exponentText] = x.toExponential(16).split('e') as [string, string];
  // toExponential breaks exact ties away from zero; glibc (round-half-even) keeps the even candidate.
  if (isSeventeenDigitTie(x)) {
    const exact = x.toExponential(30).split('e') as [string, string];
    const truncated = exact[0].replace('.', '').slice(0, 17);
    if (Number(truncated[16]) % 2 === 0) return [truncated, Number(exact[1])];
  }
  return [mantissa.replace('.', ''), Number(exponentText)];
}

const BITS = new DataView(new ArrayBuffer(8));
const LOG10_5 = Math.log10(5);

/**
 * True when rounding x to 17 significant digits is an exact tie, i.e. x's exact decimal expansion has exactly 18
 * significant digits, the last a 5. Cheap: with x = n * 2^-k (n odd), the expansion is n * 5^k / 10^k, whose
 * significant digits are those of n * 5^k; BigInt confirms only the rare near-18-digit cases.
 */
function isSeventeenDigitTie(x: number): boolean {
  BITS.setFloat64(0, x);
  const hi = BITS.getUint32(0), lo = BITS.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let n = (hi & 0xfffff) * 0x100000000 + lo;
  let e = biased === 0 ? -1074 : biased - 1075;
  if (biased !== 0) n += 2 ** 52;
  while (n % 2 === 0) { n /= 2; e++; }
  if (e >= 0) {
    // An integer: below 1e17 it has at most 17 digits; above, look at the exact digits.
    if (x < 1e17) return false;
    const digits = (BigInt(n) << BigInt(e)).toString().replace(/0+$/, '');
    return digits.length === 18 && digits.endsWith('5');
  }
  const k = -e;
  const estimate = Math.log10(n) + k * LOG10_5;
  if (estimate < 16.5 || estimate > 18.5) return false;
  return (BigInt(n) * 5n ** BigInt(k)).toString().length === 18;
}

export function encodeColmapText(model: ColmapModel): ColmapEncodedModel<string> {
  assertConsistent(model);
  for (const im of model.images) {
    if (/\s/.test(im.name)) throw new InputError(`image ${im.id} name "${im.name}" has whitespace, which COLMAP's text format cannot hold; write binary.`);
  }
  const g = formatColmapDouble;
  const cameras = [
    '# Camera list with one line of data per camera:',
    '#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]',
    `# Number of cameras: ${model.cameras.length}`,
    ...model.cameras.map((c) => [c.id, c.model, c.width, c.height, ...Array.from(c.params, g)].join(' ')),
  ];
  const observations = countColmapObservations(model);
  const images = [
    '# Image list with two lines of data per image:',
    '#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME',
    '#   POINTS2D[] as (X, Y, POINT3D_ID)',
    `# Number of images: ${model.images.length}, mean observations per image: ${g(model.images.length === 0 ? 0 : observations / model.images.length)}`,
  ];
  for (const im of model.images) {
    images.push([im.id, ...Array.from(im.qvec, g), ...Array.from(im.tvec, g), im.cameraId, im.name].join(' '));
    const parts: string[] = [];
    for (let k = 0; k < im.point3DIds.length; k++) parts.push(g(im.points2D[2 * k]!), g(im.points2D[2 * k + 1]!), String(im.point3DIds[k]));
    images.push(parts.join(' '));
  }
  let trackTotal = 0;
  for (const p of model.points3D) trackTotal += p.track.length / 2;
  const points = [
    '# 3D point list with one line of data per point:',
    '#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)',
    `# Number of points: ${model.points3D.length}, mean track length: ${g(model.points3D.length === 0 ? 0 : trackTotal / model.points3D.length)}`,
    ...model.points3D.map((p) => [p.id, ...Array.from(p.xyz, g), p.rgb[0], p.rgb[1], p.rgb[2], g(p.error), ...Array.from(p.track)].join(' ')),
  ];
  const text = (lines: string[]): string => `${lines.join('\n')}\n`;
  return { cameras: text(cameras), images: text(images), points3D: text(points) };
}

/** A line-oriented reader that names the file and 1-based line number in its errors. */
class TextCursor {
  private readonly lines: string[];
  private index = 0;
  constructor(text: string, private readonly file: string) {
    this.lines = text.split(/\r?\n/);
    // The newline that ends the last line does not start another (empty) line.
    if (this.lines.at(-1) === '') this.lines.pop();
  }
  /** The next line that is neither empty nor a comment, trimmed and split on whitespace; undefined at the end. */
  nextDataLine(): string[] | undefined {
    while (this.index < this.lines.length) {
      const line = this.lines[this.index++]!.trim();
      if (line !== '' && !line.startsWith('#')) return line.split(/\s+/);
    }
    return undefined;
  }
  /** The very next line (it may be empty: an image without keypoints), split on whitespace. */
  nextRawLine(): string[] | undefined {
    if (this.index >= this.lines.length) return undefined;
    const line = this.lines[this.index++]!.trim();
    return line === '' ? [] : line.split(/\s+/);
  }
  fail(message: string): FormatError {
    return new FormatError(`line ${this.index}: ${message}`, { file: this.file });
  }
  number(token: string | undefined, what: string): number {
    const v = parseCDouble(token);
    if (v === undefined) throw this.fail(`${what} "${token}" is not a number`);
    return v;
  }
  integer(token: string | undefined, what: string, min: number, max: number): number {
    const v = parseIntegerToken(token);
    if (v === undefined || !Number.isSafeInteger(v) || v < min || v > max) throw this.fail(`${what} "${token}" is not an integer in ${min}..${max}`);
    return v;
  }
}

/** Parses a number as C++ streams print it (including inf and nan); undefined if it is not one. */
function parseCDouble(token: string | undefined): number | undefined {
  if (token === undefined || token === '') return undefined;
  const v = Number(token);
  if (Number.isFinite(v)) {
    // Number() also takes JavaScript-only forms: 0x.., 0b.., 0o.., numeric separators are already NaN.
    const second = token.charCodeAt(1) | 0x20;
    return second === 0x78 || second === 0x62 || second === 0x6f ? undefined : v;
  }
  const lower = token.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(lower)) return Number.NaN;
  return undefined;
}

/** A decimal integer token (optional sign, digits only) as a safe integer; undefined otherwise. */
function parseIntegerToken(token: string | undefined): number | undefined {
  if (token === undefined || token.length === 0 || token.length > 17) return undefined;
  let i = token.charCodeAt(0) === 0x2d || token.charCodeAt(0) === 0x2b ? 1 : 0;
  if (i === token.length) return undefined;
  for (; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(token);
}

export function decodeColmapCamerasText(text: string, file = 'cameras.txt'): ColmapCamera[] {
  const cursor = new TextCursor(text, file);
  const cameras: ColmapCamera[] = [];
  for (let t = cursor.nextDataLine(); t !== undefined; t = cursor.nextDataLine()) {
    const id = cursor.integer(t[0], 'CAMERA_ID', 0, UINT32_MAX);
    const spec = MODEL_BY_NAME.get(t[1] ?? '');
    if (spec === undefined) throw cursor.fail(`unknown camera model "${t[1]}"`);
    if (t.length !== 4 + spec.params.length) throw cursor.fail(`${spec.name} needs ${4 + spec.params.length} fields, got ${t.length}`);
    const width = cursor.integer(t[2], 'WIDTH', 1, Number.MAX_SAFE_INTEGER);
    const height = cursor.integer(t[3], 'HEIGHT', 1, Number.MAX_SAFE_INTEGER);
    const params = Float64Array.from(t.slice(4), (s, i) => cursor.number(s, spec.params[i]!));
    cameras.push({ id, model: spec.name, width, height, params });
  }
  return cameras;
}

export function decodeColmapImagesText(text: string, file = 'images.txt'): ColmapImage[] {
  const cursor = new TextCursor(text, file);
  const images: ColmapImage[] = [];
  for (let t = cursor.nextDataLine(); t !== undefined; t = cursor.nextDataLine()) {
    if (t.length !== 10) throw cursor.fail(`an image line needs 10 fields (IMAGE_ID, QW..QZ, TX..TZ, CAMERA_ID, NAME), got ${t.length}`);
    const id = cursor.integer(t[0], 'IMAGE_ID', 0, UINT32_MAX);
    const qvec = Float64Array.from(t.slice(1, 5), (s) => cursor.number(s, 'quaternion'));
    const tvec = Float64Array.from(t.slice(5, 8), (s) => cursor.number(s, 'translation'));
    const cameraId = cursor.integer(t[8], 'CAMERA_ID', 0, UINT32_MAX);
    const name = t[9]!;
    const p = cursor.nextRawLine();
    if (p === undefined) throw cursor.fail(`image ${id} has no POINTS2D line`);
    if (p.length % 3 !== 0) throw cursor.fail(`POINTS2D of image ${id} has ${p.length} fields, not a multiple of 3`);
    const n = p.length / 3;
    const points2D = new Float64Array(2 * n);
    const point3DIds = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      points2D[2 * k] = cursor.number(p[3 * k], 'X');
      points2D[2 * k + 1] = cursor.number(p[3 * k + 1], 'Y');
      point3DIds[k] = cursor.integer(p[3 * k + 2], 'POINT3D_ID', -1, Number.MAX_SAFE_INTEGER);
    }
    images.push({ id, qvec, tvec, cameraId, name, points2D, point3DIds });
  }
  return images;
}

export function decodeColmapPoints3DText(text: string, file = 'points3D.txt'): ColmapPoint3D[] {
  const cursor = new TextCursor(text, file);
  const points: ColmapPoint3D[] = [];
  for (let t = cursor.nextDataLine(); t !== undefined; t = cursor.nextDataLine()) {
    if (t.length < 8 || (t.length - 8) % 2 !== 0) throw cursor.fail(`a point line needs 8 fields plus (IMAGE_ID, POINT2D_IDX) pairs, got ${t.length}`);
    const id = cursor.integer(t[0], 'POINT3D_ID', 0, Number.MAX_SAFE_INTEGER);
    const xyz = [cursor.number(t[1], 'X'), cursor.number(t[2], 'Y'), cursor.number(t[3], 'Z')];
    const rgb = [cursor.integer(t[4], 'colour', 0, 255), cursor.integer(t[5], 'colour', 0, 255), cursor.integer(t[6], 'colour', 0, 255)];
    const error = cursor.number(t[7], 'ERROR');
    const track = new Array<number>(t.length - 8);
    for (let k = 0; k < track.length; k++) track[k] = cursor.integer(t[8 + k], k % 2 === 0 ? 'IMAGE_ID' : 'POINT2D_IDX', 0, UINT32_MAX);
    points.push({ id, xyz, rgb, error, track });
  }
  return points;
}

// ---------------------------------------------------------------------------------------------------------------
// Binary format

/** Little-endian writer into a buffer of the exact size the caller computed (checked at the end). */
class BinaryWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  offset = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void { this.view.setUint8(this.offset, v); this.offset += 1; }
  u32(v: number): void { this.view.setUint32(this.offset, v, true); this.offset += 4; }
  i32(v: number): void { this.view.setInt32(this.offset, v, true); this.offset += 4; }
  /** A uint64 from a safe integer, as two uint32 halves (no BigInt in the hot path); -1 writes all ones. */
  u64(v: number): void {
    if (v === -1) {
      this.view.setUint32(this.offset, 0xffffffff, true);
      this.view.setUint32(this.offset + 4, 0xffffffff, true);
    } else {
      this.view.setUint32(this.offset, v % 0x100000000, true);
      this.view.setUint32(this.offset + 4, Math.floor(v / 0x100000000), true);
    }
    this.offset += 8;
  }
  f64(v: number): void { this.view.setFloat64(this.offset, v, true); this.offset += 8; }
  raw(b: Uint8Array): void { this.bytes.set(b, this.offset); this.offset += b.length; }
  result(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new Error(`internal: wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Bounds-checked little-endian reader; errors name the file and byte offset. */
class BinaryCursor {
  private readonly view: DataView;
  offset = 0;
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string, at = this.offset): FormatError {
    return new FormatError(`${message} (at byte ${at})`, { file: this.file, byteOffset: at });
  }
  private need(n: number, what: string): number {
    if (this.offset + n > this.bytes.length) throw this.fail(`file ends inside ${what}`);
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(what: string): number { return this.view.getUint8(this.need(1, what)); }
  u32(what: string): number { return this.view.getUint32(this.need(4, what), true); }
  i32(what: string): number { return this.view.getInt32(this.need(4, what), true); }
  /** A uint64 that must fit a JS number exactly; with `allOnesAsMinusOne`, COLMAP's invalid id (2^64 - 1) reads as -1. */
  u64(what: string, allOnesAsMinusOne = false): number {
    const at = this.need(8, what);
    const lo = this.view.getUint32(at, true), hi = this.view.getUint32(at + 4, true);
    if (allOnesAsMinusOne && lo === 0xffffffff && hi === 0xffffffff) return -1;
    if (hi > 0x1fffff) throw this.fail(`${what} ${(BigInt(hi) << 32n) | BigInt(lo)} is too large`, at);
    return hi * 0x100000000 + lo;
  }
  /** A count of records of at least `minRecordBytes` each, checked against the bytes left before allocating. */
  count(what: string, minRecordBytes: number): number {
    const at = this.offset;
    const n = this.u64(what);
    if (n * minRecordBytes > this.bytes.length - this.offset) throw this.fail(`${what} ${n} does not fit in the ${this.bytes.length - this.offset} bytes left`, at);
    return n;
  }
  f64(what: string): number { return this.view.getFloat64(this.need(8, what), true); }
  /** A NUL-terminated UTF-8 string. */
  cString(what: string): string {
    const start = this.offset;
    const end = this.bytes.indexOf(0, start);
    if (end < 0) throw this.fail(`${what} has no terminating NUL`);
    this.offset = end + 1;
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(start, end));
  }
  assertEnd(): void {
    if (this.offset !== this.bytes.length) throw this.fail(`${this.bytes.length - this.offset} unexpected bytes after the last record`);
  }
}

export function encodeColmapBinary(model: ColmapModel): ColmapEncodedModel<Uint8Array> {
  assertConsistent(model);
  const cameras = new BinaryWriter(8 + model.cameras.reduce((s, c) => s + 24 + 8 * c.params.length, 0));
  cameras.u64(model.cameras.length);
  for (const c of model.cameras) {
    cameras.u32(c.id);
    cameras.i32(MODEL_BY_NAME.get(c.model)!.id);
    cameras.u64(c.width);
    cameras.u64(c.height);
    for (const v of c.params) cameras.f64(v);
  }
  const encoder = new TextEncoder();
  const names = model.images.map((im) => encoder.encode(im.name));
  const images = new BinaryWriter(8 + model.images.reduce((s, im, i) => s + 73 + names[i]!.length + im.point3DIds.length * 24, 0));
  images.u64(model.images.length);
  model.images.forEach((im, i) => {
    images.u32(im.id);
    for (let k = 0; k < 4; k++) images.f64(im.qvec[k]!);
    for (let k = 0; k < 3; k++) images.f64(im.tvec[k]!);
    images.u32(im.cameraId);
    images.raw(names[i]!);
    images.u8(0);
    images.u64(im.point3DIds.length);
    for (let k = 0; k < im.point3DIds.length; k++) {
      images.f64(im.points2D[2 * k]!);
      images.f64(im.points2D[2 * k + 1]!);
      images.u64(im.point3DIds[k]!);
    }
  });
  const points = new BinaryWriter(8 + model.points3D.reduce((s, p) => s + 51 + p.track.length * 4, 0));
  points.u64(model.points3D.length);
  for (const p of model.points3D) {
    points.u64(p.id);
    points.f64(p.xyz[0]!); points.f64(p.xyz[1]!); points.f64(p.xyz[2]!);
    points.u8(p.rgb[0]!); points.u8(p.rgb[1]!); points.u8(p.rgb[2]!);
    points.f64(p.error);
    const track = p.track;
    points.u64(track.length / 2);
    for (let k = 0; k < track.length; k++) points.u32(track[k]!);
  }
  return { cameras: cameras.result(), images: images.result(), points3D: points.result() };
}

export function decodeColmapCamerasBinary(bytes: Uint8Array, file = 'cameras.bin'): ColmapCamera[] {
  const r = new BinaryCursor(bytes, file);
  const n = r.count('number of cameras', 24);
  const cameras: ColmapCamera[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u32('camera id');
    const at = r.offset;
    const modelId = r.i32('camera model id');
    const spec = MODEL_BY_ID.get(modelId);
    if (spec === undefined) throw r.fail(`unknown camera model id ${modelId}`, at);
    const width = r.u64('width');
    const height = r.u64('height');
    const params = new Float64Array(spec.params.length);
    for (let k = 0; k < params.length; k++) params[k] = r.f64(`${spec.name} parameter ${spec.params[k]}`);
    cameras.push({ id, model: spec.name, width, height, params });
  }
  r.assertEnd();
  return cameras;
}

export function decodeColmapImagesBinary(bytes: Uint8Array, file = 'images.bin'): ColmapImage[] {
  const r = new BinaryCursor(bytes, file);
  const n = r.count('number of images', 73);
  const images: ColmapImage[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u32('image id');
    const qvec = new Float64Array(4);
    for (let k = 0; k < 4; k++) qvec[k] = r.f64('quaternion');
    const tvec = new Float64Array(3);
    for (let k = 0; k < 3; k++) tvec[k] = r.f64('translation');
    const cameraId = r.u32('camera id');
    const name = r.cString('image name');
    const count = r.count('number of points2D', 24);
    const points2D = new Float64Array(2 * count);
    const point3DIds = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      points2D[2 * k] = r.f64('point2D x');
      points2D[2 * k + 1] = r.f64('point2D y');
      point3DIds[k] = r.u64('point3D id', true);
    }
    images.push({ id, qvec, tvec, cameraId, name, points2D, point3DIds });
  }
  r.assertEnd();
  return images;
}

export function decodeColmapPoints3DBinary(bytes: Uint8Array, file = 'points3D.bin'): ColmapPoint3D[] {
  const r = new BinaryCursor(bytes, file);
  const n = r.count('number of points3D', 51);
  const points: ColmapPoint3D[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u64('point3D id');
    const xyz = [r.f64('x'), r.f64('y'), r.f64('z')];
    const rgb = [r.u8('colour'), r.u8('colour'), r.u8('colour')];
    const error = r.f64('error');
    const length = r.count('track length', 8);
    const track = new Array<number>(2 * length);
    for (let k = 0; k < track.length; k++) track[k] = r.u32(k % 2 === 0 ? 'track image id' : 'track point2D index');
    points.push({ id, xyz, rgb, error, track });
  }
  r.assertEnd();
  return points;
}

// ---------------------------------------------------------------------------------------------------------------
// Folders

export interface ColmapReadOptions {
  /** 'auto' (default) prefers binary when both are present, as COLMAP does. */
  readonly format?: ColmapFormat | 'auto';
}

export interface ColmapReadResult {
  readonly model: ColmapModel;
  readonly format: ColmapFormat;
}

/** Reads cameras/images/points3D from `dir`. InputError if the folder holds no complete model. */
export async function readColmapModel(dir: string, options: ColmapReadOptions = {}): Promise<ColmapReadResult> {
  const wanted = options.format ?? 'auto';
  const candidates: ColmapFormat[] = wanted === 'auto' ? ['binary', 'text'] : [wanted];
  for (const format of candidates) {
    const names = COLMAP_FILE_NAMES[format];
    const files = [names.cameras, names.images, names.points3D].map((n) => path.join(dir, n));
    const present = await Promise.all(files.map(isFile));
    if (!present.every(Boolean)) continue;
    const [c, i, p] = await Promise.all(files.map((f) => readFile(f)));
    const model = format === 'binary'
      ? { cameras: decodeColmapCamerasBinary(c!, files[0]), images: decodeColmapImagesBinary(i!, files[1]), points3D: decodeColmapPoints3DBinary(p!, files[2]) }
      : { cameras: decodeColmapCamerasText(c!.toString('utf8'), files[0]), images: decodeColmapImagesText(i!.toString('utf8'), files[1]), points3D: decodeColmapPoints3DText(p!.toString('utf8'), files[2]) };
    return { model, format };
  }
  const expected = candidates.map((f) => Object.values(COLMAP_FILE_NAMES[f]).join(', ')).join(' or ');
  throw new InputError(`no COLMAP model here: expected ${expected}.`, { file: dir });
}

export interface ColmapWriteOptions {
  /** Default 'binary', COLMAP's own default. */
  readonly format?: ColmapFormat;
}

/**
 * Writes the model's three files into `dir` (created if needed). Everything is encoded (and checked with
 * findColmapModelProblems) before the first byte is written, and each file is replaced atomically, so a failure
 * never leaves a half-written file. The other format's files are then removed: COLMAP prefers .bin when both exist,
 * so a stale binary model would shadow a new text one. Returns the paths written.
 */
export async function writeColmapModel(dir: string, model: ColmapModel, options: ColmapWriteOptions = {}): Promise<string[]> {
  const format = options.format ?? 'binary';
  const encoded = format === 'binary' ? encodeColmapBinary(model) : encodeColmapText(model);
  const names = COLMAP_FILE_NAMES[format];
  await ensureWritableDir(dir);
  const written: string[] = [];
  for (const part of ['cameras', 'images', 'points3D'] as const) {
    const file = path.join(dir, names[part]);
    await writeFileAtomic(file, encoded[part]);
    written.push(file);
  }
  const other = COLMAP_FILE_NAMES[format === 'binary' ? 'text' : 'binary'];
  await Promise.all(Object.values(other).map((n) => rm(path.join(dir, n), { force: true })));
  return written;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function assertConsistent(model: ColmapModel): void {
  const problems = findColmapModelProblems(model);
  if (problems.length > 0) throw new InputError(`inconsistent COLMAP model: ${problems.join('; ')}.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Conversion to and from the project's types

export interface ColmapDistortion {
  readonly model: ColmapCameraModelName;
  /** The non-pinhole parameters by COLMAP's names (k1, p1, omega, ...). */
  readonly coefficients: Readonly<Record<string, number>>;
}

export interface ColmapIntrinsics {
  /** The pinhole part, in this project's pixel convention (principal point shifted by -COLMAP_PIXEL_OFFSET). */
  readonly intrinsics: Intrinsics;
  /** Present for every model that is not SIMPLE_PINHOLE or PINHOLE: the pinhole part alone does not describe it. */
  readonly distortion?: ColmapDistortion;
}

/** The pinhole intrinsics of a COLMAP camera, and its distortion when the model has one (never silently dropped). */
export function intrinsicsFromColmapCamera(camera: ColmapCamera): ColmapIntrinsics {
  const spec = MODEL_BY_NAME.get(camera.model);
  if (spec === undefined || camera.params.length !== spec.params.length) {
    throw new InputError(`camera ${camera.id}: ${camera.model} with ${camera.params.length} params is not a known COLMAP camera.`);
  }
  const names: readonly string[] = spec.params;
  const value = (name: string): number => camera.params[names.indexOf(name)]!;
  const single = names[0] === 'f';
  const intrinsics: Intrinsics = {
    fxPx: single ? value('f') : value('fx'),
    fyPx: single ? value('f') : value('fy'),
    cxPx: value('cx') - COLMAP_PIXEL_OFFSET,
    cyPx: value('cy') - COLMAP_PIXEL_OFFSET,
    width: camera.width,
    height: camera.height,
  };
  if (spec.name === 'SIMPLE_PINHOLE' || spec.name === 'PINHOLE') return { intrinsics };
  const pinholeNames = new Set(['f', 'fx', 'fy', 'cx', 'cy']);
  const coefficients: Record<string, number> = {};
  names.forEach((name, i) => {
    if (!pinholeNames.has(name)) coefficients[name] = camera.params[i]!;
  });
  return { intrinsics, distortion: { model: spec.name, coefficients } };
}

/** A COLMAP camera for pinhole intrinsics; SIMPLE_PINHOLE needs fx === fy. */
export function colmapCameraFromIntrinsics(id: number, intrinsics: Intrinsics, model: 'PINHOLE' | 'SIMPLE_PINHOLE' = 'PINHOLE'): ColmapCamera {
  const cx = intrinsics.cxPx + COLMAP_PIXEL_OFFSET;
  const cy = intrinsics.cyPx + COLMAP_PIXEL_OFFSET;
  if (model === 'SIMPLE_PINHOLE') {
    if (intrinsics.fxPx !== intrinsics.fyPx) {
      throw new InputError(`SIMPLE_PINHOLE needs fx === fy, got ${intrinsics.fxPx} and ${intrinsics.fyPx}; use PINHOLE.`);
    }
    return { id, model, width: intrinsics.width, height: intrinsics.height, params: Float64Array.of(intrinsics.fxPx, cx, cy) };
  }
  return { id, model, width: intrinsics.width, height: intrinsics.height, params: Float64Array.of(intrinsics.fxPx, intrinsics.fyPx, cx, cy) };
}

/** `worldFromCamera` (row-major 4x4, OpenCV axes) of a COLMAP image pose; the quaternion need not be unit length. */
export function worldFromCameraOfColmapImage(image: Pick<ColmapImage, 'qvec' | 'tvec'>): Mat4 {
  const r = rotationFromQuaternion(image.qvec);
  const t = image.tvec;
  // worldFromCamera = [R^T, -R^T t].
  const m = new Float64Array(16);
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) m[row * 4 + col] = r[col * 3 + row]!;
    m[row * 4 + 3] = -(r[row]! * t[0]! + r[3 + row]! * t[1]! + r[6 + row]! * t[2]!);
  }
  m[15] = 1;
  return m;
}

/** COLMAP's qvec (w >= 0) and tvec (`cameraFromWorld`) for a rigid `worldFromCamera`. */
export function colmapPoseFromWorldFromCamera(worldFromCamera: Mat4): { qvec: Float64Array; tvec: Float64Array } {
  const w = worldFromCamera;
  // cameraFromWorld rotation is the transpose of worldFromCamera's.
  const r = Float64Array.of(w[0]!, w[4]!, w[8]!, w[1]!, w[5]!, w[9]!, w[2]!, w[6]!, w[10]!);
  const c = [w[3]!, w[7]!, w[11]!];
  const tvec = Float64Array.of(
    -(r[0]! * c[0]! + r[1]! * c[1]! + r[2]! * c[2]!),
    -(r[3]! * c[0]! + r[4]! * c[1]! + r[5]! * c[2]!),
    -(r[6]! * c[0]! + r[7]! * c[1]! + r[8]! * c[2]!),
  );
  return { qvec: quaternionFromRotation(r), tvec };
}

function isUint32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}

function isPositiveInteger(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0;
}
