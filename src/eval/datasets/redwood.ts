/**
 * Redwood RGB-D frames from the Open3D test data (`RGBD/color/*.jpg` + `RGBD/depth/*.png`, living-room1):
 * 16-bit depth in millimetres, 0 = invalid; pairs from `rgbd.match` when present, else by file name.
 * Intrinsics: the PrimeSense defaults Open3D uses (525, 525, 319.5, 239.5). Protocol: no crop, 1e-3..10 m.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../../core/errors.ts';
import type { Mat4 } from '../../core/mat4.ts';
import { type DatasetSample, type DepthDataset, findLayouts, intrinsicsFromParams, isDirectory, isFile, loadRgbAndDepth, readImageSize } from './types.ts';

const NAME = 'redwood';
const PRIMESENSE_INTRINSICS = [525, 525, 319.5, 239.5] as const;

async function isRedwoodFolder(folder: string): Promise<boolean> {
  if (!(await isDirectory(path.join(folder, 'color'))) || !(await isDirectory(path.join(folder, 'depth')))) return false;
  return (await readdir(path.join(folder, 'depth'))).some((name) => name.endsWith('.png'));
}

/** (depth, color) relative paths: from rgbd.match ("depth/x.png color/x.jpg" per line) or by matching base names. */
async function pairs(folder: string): Promise<[string, string][]> {
  const matchPath = path.join(folder, 'rgbd.match');
  if (await isFile(matchPath)) {
    const lines = (await readFile(matchPath, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    return lines.map((line) => {
      const [depth, color] = line.split(/\s+/);
      if (depth === undefined || color === undefined) throw new FormatError(`bad line "${line}": expected "depth/<file> color/<file>".`, { file: matchPath });
      return [depth, color];
    });
  }
  const colors = new Map<string, string>();
  for (const name of await readdir(path.join(folder, 'color'))) {
    if (/\.(jpe?g|png)$/i.test(name)) colors.set(path.parse(name).name, name);
  }
  const out: [string, string][] = [];
  for (const name of (await readdir(path.join(folder, 'depth'))).sort()) {
    const color = colors.get(path.parse(name).name);
    if (name.endsWith('.png') && color !== undefined) out.push([`depth/${name}`, `color/${color}`]);
  }
  return out;
}

export const REDWOOD_DATASET: DepthDataset = Object.freeze({
  name: NAME,
  description: 'Redwood living-room RGB-D frames (Open3D test data); depth in mm, no crop, 1e-3..10 m.',
  defaultCrop: null,
  minDepthMeters: 1e-3,
  maxDepthMeters: 10,
  async list(root: string): Promise<DatasetSample[]> {
    const layouts = await findLayouts(NAME, root, [{
      what: 'a Redwood RGBD folder (color/, depth/*.png)',
      candidates: ['.', 'RGBD', 'test_data/RGBD', 'examples/test_data/RGBD', 'open3d_rgbd_testdata/examples/test_data/RGBD'],
      matches: isRedwoodFolder,
    }]);
    const samples: DatasetSample[] = [];
    for (const { folder } of layouts) {
      for (const [depth, color] of await pairs(folder)) {
        const rgbPath = path.join(folder, ...color.split('/'));
        const size = await readImageSize(rgbPath);
        samples.push({
          dataset: NAME,
          id: `open3d/${path.parse(color).name}`,
          rgbPath,
          depthPath: path.join(folder, ...depth.split('/')),
          depthUnitsPerMeter: 1000,
          intrinsics: intrinsicsFromParams(PRIMESENSE_INTRINSICS, size.width, size.height),
        });
      }
    }
    return samples;
  },
  load: loadRgbAndDepth,
});

/**
 * A Redwood / Open3D trajectory `.log`: per frame a line "id id n" and four rows of a 4x4 camera-to-world matrix
 * (worldFromCamera, camera axes as OpenCV: x right, y down, z forward). Returns the matrices in file order.
 */
export function parseRedwoodTrajectory(text: string, file = 'trajectory.log'): Mat4[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length % 5 !== 0) throw new FormatError(`has ${lines.length} non-empty lines; a trajectory has 5 per frame (a header and 4 matrix rows).`, { file });
  const poses: Mat4[] = [];
  for (let f = 0; f < lines.length / 5; f++) {
    const m = new Float64Array(16);
    for (let r = 0; r < 4; r++) {
      const row = lines[5 * f + 1 + r]!.split(/\s+/).map(Number);
      if (row.length !== 4 || row.some((v) => !Number.isFinite(v))) throw new FormatError(`frame ${f}, matrix row ${r}: "${lines[5 * f + 1 + r]}" is not 4 numbers.`, { file });
      m.set(row, 4 * r);
    }
    poses.push(m);
  }
  return poses;
}
