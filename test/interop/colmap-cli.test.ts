/**
 * Interoperability of src/io/formats/colmap.ts with the real COLMAP (3.8, Debian's CPU build): COLMAP reads what we
 * write (binary and text), converts it, and we read back what COLMAP writes; its model_analyzer counts the same
 * cameras, images, points and observations. COLMAP's text output must also match ours record for record, byte for
 * byte (COLMAP orders records by its hash maps, so records are compared as sets; it renormalises quaternions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createRng } from '../../src/geometry/random.ts';
import {
  countColmapObservations, encodeColmapText, readColmapModel, writeColmapModel, type ColmapCamera, type ColmapImage,
  type ColmapModel, type ColmapPoint3D,
} from '../../src/io/formats/colmap.ts';
import { GENERATED_DIR } from '../helpers/paths.ts';

const COLMAP = 'colmap';
const colmapCheck = spawnSync(COLMAP, ['help'], { encoding: 'utf8' });
const skip = colmapCheck.error !== undefined ? `the colmap binary is not on PATH (${colmapCheck.error.message})` : false;

/** A random but consistent model: every track element points at a keypoint that points back at the track's point. */
function syntheticModel(seed: number): ColmapModel {
  const rng = createRng(seed);
  const cameras: ColmapCamera[] = [
    { id: 1, model: 'SIMPLE_PINHOLE', width: 640, height: 480, params: Float64Array.of(512.25, 320, 240) },
    { id: 7, model: 'PINHOLE', width: 1920, height: 1080, params: Float64Array.of(1500.123456789, 1499.987654321, 960.5, 540.25) },
    { id: 3, model: 'SIMPLE_RADIAL', width: 800, height: 600, params: Float64Array.of(700, 400, 300, -0.0123) },
    { id: 12, model: 'OPENCV', width: 1024, height: 768, params: Float64Array.of(800, 810, 512, 384, 0.01, -0.002, 1e-4, -3e-5) },
  ];
  const numImages = 15;
  const keypointsPerImage = Array.from({ length: numImages }, () => 40 + rng.nextInt(60));
  const nextFree = new Array<number>(numImages).fill(0);
  const imageIds = Array.from({ length: numImages }, (_, i) => 100 + 3 * i);
  const point3DIds = keypointsPerImage.map((n) => new Float64Array(n).fill(-1));
  const points3D: ColmapPoint3D[] = [];
  for (let p = 0; p < 250; p++) {
    const id = 1000 + 7 * p;
    const trackLength = 2 + rng.nextInt(5);
    const chosen = new Set<number>();
    while (chosen.size < trackLength) chosen.add(rng.nextInt(numImages));
    const track: number[] = [];
    for (const i of chosen) {
      if (nextFree[i]! >= keypointsPerImage[i]!) continue;
      const idx = nextFree[i]!++;
      point3DIds[i]![idx] = id;
      track.push(imageIds[i]!, idx);
    }
    points3D.push({
      id, xyz: Float64Array.of(rng.nextGaussian() * 3, rng.nextGaussian(), 5 + rng.nextGaussian() * 1e-3),
      rgb: Uint8Array.of(rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)), error: rng.next() * 2, track: Uint32Array.from(track),
    });
  }
  const images: ColmapImage[] = imageIds.map((id, i) => {
    const q = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    const n = Math.hypot(...q) * Math.sign(q[0]!);
    const camera = cameras[i % cameras.length]!;
    const points2D = new Float64Array(2 * keypointsPerImage[i]!);
    for (let k = 0; k < points2D.length; k += 2) {
      points2D[k] = rng.next() * camera.width;
      points2D[k + 1] = rng.next() * camera.height;
    }
    return {
      id, qvec: Float64Array.from(q, (v) => v / n), tvec: Float64Array.of(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian() * 10),
      cameraId: camera.id, name: `seq_${String(i).padStart(3, '0')}/frame.${i}.jpg`, points2D, point3DIds: point3DIds[i]!,
    };
  });
  return { cameras, images, points3D };
}

function byId<T extends { id: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.id - b.id);
}

/** Compares two models id by id: poses to `poseTolerance`, everything else exactly. */
function assertSameModel(actual: ColmapModel, expected: ColmapModel, poseTolerance: number): void {
  const ac = byId(actual.cameras), ec = byId(expected.cameras);
  assert.deepEqual(ac.map((c) => [c.id, c.model, c.width, c.height, [...c.params]]), ec.map((c) => [c.id, c.model, c.width, c.height, [...c.params]]));
  const ai = byId(actual.images), ei = byId(expected.images);
  assert.deepEqual(ai.map((im) => [im.id, im.cameraId, im.name, [...im.points2D], [...im.point3DIds]]),
    ei.map((im) => [im.id, im.cameraId, im.name, [...im.points2D], [...im.point3DIds]]));
  let worst = 0;
  for (let i = 0; i < ai.length; i++) {
    for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(ai[i]!.qvec[k]! - ei[i]!.qvec[k]!));
    for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(ai[i]!.tvec[k]! - ei[i]!.tvec[k]!));
  }
  assert.ok(worst <= poseTolerance, `pose difference ${worst}`);
  const ap = byId(actual.points3D), ep = byId(expected.points3D);
  const pointRow = (p: ColmapPoint3D): unknown[] => [p.id, Array.from(p.xyz), Array.from(p.rgb), p.error, Array.from(p.track)];
  assert.deepEqual(ap.map(pointRow), ep.map(pointRow));
}

/**
 * A text file's header comment lines and its records (one line, or two for images) as a sorted list. COLMAP
 * renormalises quaternions when it reads a model (changing the last digit), so image records have QW..QZ
 * replaced by a placeholder; assertSameModel compares them numerically.
 */
function splitRecords(text: string, linesPerRecord: number): { header: string[]; records: string[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = lines.filter((l) => l.startsWith('#'));
  const body = lines.slice(header.length);
  const records: string[] = [];
  for (let i = 0; i < body.length; i += linesPerRecord) {
    const record = body.slice(i, i + linesPerRecord);
    if (linesPerRecord === 2) record[0] = record[0]!.split(' ').map((t, k) => (k >= 1 && k <= 4 ? 'Q' : t)).join(' ');
    records.push(record.join('\n'));
  }
  return { header, records: records.sort() };
}

function runColmap(args: string[]): string {
  const run = spawnSync(COLMAP, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `colmap ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return `${run.stdout}\n${run.stderr}`;
}

describe('COLMAP 3.8 reads and writes our sparse models', { skip }, () => {
  let dir: string;
  const model = syntheticModel(2024);

  before(() => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    dir = mkdtempSync(path.join(GENERATED_DIR, 'colmap-cli-'));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('our binary -> colmap model_converter TXT -> our text reader gives the model back, byte-identical text', async () => {
    const ours = path.join(dir, 'ours-bin');
    const converted = path.join(dir, 'colmap-txt');
    mkdirSync(converted);
    await writeColmapModel(ours, model, { format: 'binary' });
    runColmap(['model_converter', '--input_path', ours, '--output_path', converted, '--output_type', 'TXT']);
    const back = await readColmapModel(converted, { format: 'text' });
    assertSameModel(back.model, model, 1e-12);
    const expected = encodeColmapText(model);
    for (const [part, linesPerRecord] of [['cameras', 1], ['images', 2], ['points3D', 1]] as const) {
      const theirs = splitRecords(readFileSync(path.join(converted, `${part}.txt`), 'utf8'), linesPerRecord);
      const mine = splitRecords(expected[part], linesPerRecord);
      assert.deepEqual(theirs.header, mine.header, `${part}.txt header`);
      assert.deepEqual(theirs.records, mine.records, `${part}.txt records`);
    }
  });

  it('our text -> colmap model_converter BIN -> our binary reader gives the model back', async () => {
    const ours = path.join(dir, 'ours-txt');
    const converted = path.join(dir, 'colmap-bin');
    mkdirSync(converted);
    await writeColmapModel(ours, model, { format: 'text' });
    runColmap(['model_converter', '--input_path', ours, '--output_path', converted, '--output_type', 'BIN']);
    const back = await readColmapModel(converted, { format: 'binary' });
    assertSameModel(back.model, model, 1e-12);
  });

  it('colmap model_analyzer accepts our binary and text models and counts what we wrote', async (t) => {
    for (const format of ['binary', 'text'] as const) {
      const folder = path.join(dir, `analyze-${format}`);
      await writeColmapModel(folder, model, { format });
      const output = runColmap(['model_analyzer', '--path', folder]);
      const number = (label: string): number => {
        const match = new RegExp(`^\\s*(?:I\\d+ [^\\]]*\\] )?${label}:\\s*([\\d.]+)`, 'm').exec(output);
        assert.ok(match !== null, `no "${label}" in model_analyzer output:\n${output}`);
        return Number(match[1]);
      };
      const observations = countColmapObservations(model);
      const trackTotal = model.points3D.reduce((s, p) => s + p.track.length / 2, 0);
      assert.equal(trackTotal, observations);
      assert.deepEqual(
        [number('Cameras'), number('Images'), number('Registered images'), number('Points'), number('Observations')],
        [model.cameras.length, model.images.length, model.images.length, model.points3D.length, observations],
      );
      assert.ok(Math.abs(number('Mean track length') - observations / model.points3D.length) < 1e-6);
      assert.ok(Math.abs(number('Mean observations per image') - observations / model.images.length) < 1e-6);
      t.diagnostic(`${format}: ${model.cameras.length} cameras, ${model.images.length} images, ${model.points3D.length} points, ${observations} observations`);
    }
  });
});
