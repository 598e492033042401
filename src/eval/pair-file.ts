/**
 * Pair files with ground truth in the SuperGlue format (ScanNet-1500 `scannet_test_pairs_with_gt.txt`, YFCC,
 * and the files we build ourselves from GT poses). One pair per line, whitespace-separated, 38 fields:
 *
 *   name0 name1 rot0 rot1 K0 (9 numbers, row-major) K1 (9) T_0to1 (16, row-major 4x4)
 *
 * - `T_0to1` is `camera1FromCamera0`: x_cam1 = R x_cam0 + t (OpenCV camera axes), in the dataset's units.
 * - `rot0`/`rot1` (0..3) are EXIF-like rotations in 90-degree steps: SuperGlue's match_pairs.py turns image i by
 *   np.rot90(image, k = rot_i) (counter-clockwise) before matching and adjusts K and T to match. The file's K and T
 *   describe the images as stored; the rotations are kept here for the caller to apply.
 * - Blank lines and lines starting with `#` are skipped.
 */
import { readFile } from 'node:fs/promises';
import { FormatError, InputError } from '../core/errors.ts';
import { invertRigid, mul4, type Mat4 } from '../core/mat4.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { Mat3 } from '../geometry/mat3.ts';

/** Number of 90-degree counter-clockwise turns applied to an image before matching. */
export type QuarterTurns = 0 | 1 | 2 | 3;

export interface PosePair {
  readonly name0: string;
  readonly name1: string;
  readonly rotation0: QuarterTurns;
  readonly rotation1: QuarterTurns;
  /** Intrinsics matrix of image 0, row-major 3x3, pixels. */
  readonly k0: Mat3;
  readonly k1: Mat3;
  /** Relative pose `camera1FromCamera0`, row-major 4x4. */
  readonly camera1FromCamera0: Mat4;
}

const FIELDS_PER_LINE = 38;

/** Parses a pair file. FormatError naming the file and 1-based line for anything malformed. */
export function parsePairFile(text: string, file = 'pairs.txt'): PosePair[] {
  const pairs: PosePair[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (message: string): FormatError => new FormatError(`line ${index + 1}: ${message}`, { file });
    const fields = line.split(/\s+/);
    if (fields.length !== FIELDS_PER_LINE) {
      throw fail(`expected ${FIELDS_PER_LINE} fields (name0 name1 rot0 rot1 K0[9] K1[9] T_0to1[16]), got ${fields.length}`);
    }
    const turns = (k: number): QuarterTurns => {
      const v = fields[k]!;
      if (!/^[0-3]$/.test(v)) throw fail(`rot${k - 2} "${v}" must be 0, 1, 2 or 3 (quarter turns)`);
      return Number(v) as QuarterTurns;
    };
    const numbers = (from: number, count: number, what: string): Float64Array => {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const token = fields[from + i]!;
        const v = Number(token);
        if (!Number.isFinite(v) || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) throw fail(`${what} value ${i + 1} "${token}" is not a finite number`);
        out[i] = v;
      }
      return out;
    };
    const pose = numbers(22, 16, 'T_0to1');
    if (pose[12] !== 0 || pose[13] !== 0 || pose[14] !== 0 || pose[15] !== 1) throw fail('T_0to1 last row must be 0 0 0 1');
    pairs.push({
      name0: fields[0]!, name1: fields[1]!, rotation0: turns(2), rotation1: turns(3),
      k0: numbers(4, 9, 'K0'), k1: numbers(13, 9, 'K1'), camera1FromCamera0: pose,
    });
  });
  return pairs;
}

/** One line per pair, single spaces, numbers in JavaScript's shortest round-trip form (parsePairFile reads them back exactly). */
export function formatPairFile(pairs: readonly PosePair[], comments: readonly string[] = []): string {
  const lines = comments.map((c) => {
    if (/[\r\n]/.test(c)) throw new InputError(`pair file comment must be one line: ${JSON.stringify(c)}.`);
    return `# ${c}`;
  });
  for (const [i, p] of pairs.entries()) {
    for (const name of [p.name0, p.name1]) {
      if (name === '' || /\s/.test(name) || name.startsWith('#')) throw new InputError(`pair ${i}: image name "${name}" must be non-empty, without whitespace, not starting with #.`);
    }
    const values = [...p.k0, ...p.k1, ...p.camera1FromCamera0];
    if (p.k0.length !== 9 || p.k1.length !== 9 || p.camera1FromCamera0.length !== 16 || !values.every(Number.isFinite)) {
      throw new InputError(`pair ${i} (${p.name0}, ${p.name1}): K0, K1 need 9 and T_0to1 16 finite numbers.`);
    }
    lines.push([p.name0, p.name1, p.rotation0, p.rotation1, ...values].join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** A pair from two GT cameras (`worldFromCamera` each): T_0to1 = inverse(worldFromCamera1) * worldFromCamera0. */
export function pairFromCameras(
  view0: { readonly name: string; readonly k: Mat3; readonly worldFromCamera: Mat4 },
  view1: { readonly name: string; readonly k: Mat3; readonly worldFromCamera: Mat4 },
): PosePair {
  return {
    name0: view0.name, name1: view1.name, rotation0: 0, rotation1: 0,
    k0: Float64Array.from(view0.k), k1: Float64Array.from(view1.k),
    camera1FromCamera0: mul4(invertRigid(view1.worldFromCamera), view0.worldFromCamera),
  };
}

export async function readPairFile(filePath: string): Promise<PosePair[]> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the pair file: ${(error as Error).message}`, { file: filePath, cause: error });
  }
  return parsePairFile(text, filePath);
}

export async function writePairFile(filePath: string, pairs: readonly PosePair[], comments: readonly string[] = []): Promise<void> {
  await writeFileAtomic(filePath, formatPairFile(pairs, comments));
}
