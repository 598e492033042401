/**
 * cameras.json: AnyView's own camera file, written next to a reconstruction. It spells out every convention a
 * reader would otherwise have to guess, so the file stands on its own:
 *
 *   {
 *     "format": "anyview-cameras", "version": 1,
 *     "convention": "opencv", "axes": "x right, y down, z forward",
 *     "pose": "worldFromCamera", "matrix": "row-major 4x4",
 *     "pixelCenters": "integer", "units": "arbitrary",
 *     "views": [
 *       { "name": "a.jpg", "registered": true, "width": 640, "height": 480,
 *         "fx": 500, "fy": 500, "cx": 319.5, "cy": 239.5,
 *         "worldFromCamera": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] },
 *       { "name": "b.jpg", "registered": false, ..., "worldFromCamera": null }
 *     ]
 *   }
 *
 * `worldFromCamera` maps camera coordinates to world coordinates (x_world = R x_cam + t, so t is the camera
 * centre). Intrinsics are in pixels of the full image, with the centre of the top-left pixel at (0, 0).
 * `units` is "metres" only when the scale is known to be metric; "arbitrary" means one global unknown scale.
 * Numbers are written with JavaScript's shortest round-trip form, so a write/read round trip is exact.
 */
import { readFile } from 'node:fs/promises';
import type { Intrinsics } from '../../core/camera.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import type { Mat4 } from '../../core/mat4.ts';
import { writeFileAtomic } from '../atomic-write.ts';

export const CAMERAS_JSON_FORMAT = 'anyview-cameras';
export const CAMERAS_JSON_VERSION = 1;

export type SceneUnits = 'arbitrary' | 'metres';

export interface CameraView {
  /** The input's name (usually its file name). */
  readonly name: string;
  readonly intrinsics: Intrinsics;
  /** Camera-to-world pose, OpenCV axes, row-major 4x4; null when the view could not be registered. */
  readonly worldFromCamera: Mat4 | null;
}

export interface CamerasJson {
  readonly units: SceneUnits;
  readonly views: readonly CameraView[];
}

/** The fixed convention statements every file carries; the reader refuses files that state others. */
const CONVENTIONS = Object.freeze({
  convention: 'opencv',
  axes: 'x right, y down, z forward',
  pose: 'worldFromCamera',
  matrix: 'row-major 4x4',
  pixelCenters: 'integer',
});

const UNITS: readonly SceneUnits[] = ['arbitrary', 'metres'];

export function encodeCamerasJson(cameras: CamerasJson): string {
  if (!UNITS.includes(cameras.units)) throw new InputError(`units must be one of ${UNITS.join(', ')}, got "${cameras.units}".`);
  const views = cameras.views.map((view, i) => {
    const k = view.intrinsics;
    for (const v of [k.fxPx, k.fyPx, k.cxPx, k.cyPx]) {
      if (!Number.isFinite(v)) throw new InputError(`view ${i} (${view.name}): intrinsics must be finite numbers.`);
    }
    const m = view.worldFromCamera;
    if (m !== null && (m.length !== 16 || !m.every(Number.isFinite))) {
      throw new InputError(`view ${i} (${view.name}): worldFromCamera must be 16 finite numbers.`);
    }
    return {
      name: view.name,
      registered: m !== null,
      width: k.width,
      height: k.height,
      fx: k.fxPx,
      fy: k.fyPx,
      cx: k.cxPx,
      cy: k.cyPx,
      worldFromCamera: m === null ? null : [0, 1, 2, 3].map((r) => Array.from(m.subarray(r * 4, r * 4 + 4))),
    };
  });
  const document = { format: CAMERAS_JSON_FORMAT, version: CAMERAS_JSON_VERSION, ...CONVENTIONS, units: cameras.units, views };
  // One view per line block, matrices one row per line: readable without being huge.
  return `${JSON.stringify(document, null, 2).replace(/\[\s+(-?[\d.e+-]+),\s+(-?[\d.e+-]+),\s+(-?[\d.e+-]+),\s+(-?[\d.e+-]+)\s+\]/g, '[$1, $2, $3, $4]')}\n`;
}

/** Parses a cameras.json. FormatError naming `file` and the field for anything that does not fit the schema. */
export function decodeCamerasJson(text: string, file = 'cameras.json'): CamerasJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON: ${(error as Error).message}`, { file, cause: error });
  }
  const fail = (message: string): FormatError => new FormatError(message, { file });
  if (!isRecord(json)) throw fail('the top level is not a JSON object.');
  if (json['format'] !== CAMERAS_JSON_FORMAT) throw fail(`"format" is ${JSON.stringify(json['format'])}, expected "${CAMERAS_JSON_FORMAT}".`);
  if (json['version'] !== CAMERAS_JSON_VERSION) throw fail(`"version" ${JSON.stringify(json['version'])} is not supported (this reader knows ${CAMERAS_JSON_VERSION}).`);
  for (const [key, expected] of Object.entries(CONVENTIONS)) {
    if (json[key] !== expected) throw fail(`"${key}" is ${JSON.stringify(json[key])}; this reader only takes "${expected}".`);
  }
  const units = json['units'];
  if (typeof units !== 'string' || !(UNITS as readonly string[]).includes(units)) throw fail(`"units" must be one of ${UNITS.join(', ')}.`);
  const views = json['views'];
  if (!Array.isArray(views)) throw fail('"views" is missing or not an array.');
  return {
    units: units as SceneUnits,
    views: views.map((view: unknown, i): CameraView => {
      const where = `views[${i}]`;
      if (!isRecord(view)) throw fail(`${where} is not an object.`);
      const name = view['name'];
      if (typeof name !== 'string') throw fail(`${where}.name is not a string.`);
      const number = (key: string, positive = false): number => {
        const v = view[key];
        if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) throw fail(`${where}.${key} is not a ${positive ? 'positive' : 'finite'} number.`);
        return v;
      };
      const width = number('width', true), height = number('height', true);
      if (!Number.isInteger(width) || !Number.isInteger(height)) throw fail(`${where}: width and height must be integers.`);
      const intrinsics: Intrinsics = { fxPx: number('fx', true), fyPx: number('fy', true), cxPx: number('cx'), cyPx: number('cy'), width, height };
      const registered = view['registered'];
      if (typeof registered !== 'boolean') throw fail(`${where}.registered is not a boolean.`);
      const matrix = view['worldFromCamera'];
      if (!registered) {
        if (matrix !== null) throw fail(`${where} is not registered, so worldFromCamera must be null.`);
        return { name, intrinsics, worldFromCamera: null };
      }
      return { name, intrinsics, worldFromCamera: readMatrix(matrix, () => fail(`${where}.worldFromCamera must be 4 rows of 4 finite numbers ending [0, 0, 0, 1].`)) };
    }),
  };
}

export async function writeCamerasJson(filePath: string, cameras: CamerasJson): Promise<void> {
  await writeFileAtomic(filePath, encodeCamerasJson(cameras));
}

export async function readCamerasJson(filePath: string): Promise<CamerasJson> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the file: ${(error as Error).message}`, { file: filePath, cause: error });
  }
  return decodeCamerasJson(text, filePath);
}

function readMatrix(value: unknown, fail: () => FormatError): Mat4 {
  if (!Array.isArray(value) || value.length !== 4) throw fail();
  const m = new Float64Array(16);
  value.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== 4) throw fail();
    row.forEach((v: unknown, c) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail();
      m[r * 4 + c] = v;
    });
  });
  if (m[12] !== 0 || m[13] !== 0 || m[14] !== 0 || m[15] !== 1) throw fail();
  return m;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
