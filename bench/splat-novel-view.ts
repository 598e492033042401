/**
 * Novel-view and in-between-frame quality of our Gaussians on real RGB-D data with GT poses (src/pipeline/novel-view.ts):
 * 1. Redwood living-room (5 frames, 640x480, trajectory.log): Gaussians from frames 0, 2, 4 (GT depth + pose +
 *    RGB, merged), rendered at frames 1 and 3; the same centres as a 1 px and a 3x3 z-buffered point cloud.
 * 2. TUM dense-VO pairs (fr1, mocap GT poses): one frame's Gaussians rendered at the other frame's camera.
 * 3. 4D: Redwood frames 1 and 3 dropped, rebuilt at s = 0.5 with interpolateGaussians from the neighbours' sets
 *    (nearest-neighbour and same-pixel correspondences), against the nearest kept frame's set at the dropped camera
 *    and the nearest kept frame's image itself.
 * PSNR (dB) and SSIM (Wang 2004, 11x11 Gaussian, per channel) on the whole image and on the covisible pixels (GT
 * geometry of the target seen by a source frame). Usage: node --import tsx bench/splat-novel-view.ts [--half]
 * (--half: every frame at 320x240). Prints tables and a JSON object, and writes the JSON to bench/results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildMergedGaussians, halveFrame, loadRedwoodFrames, loadTumPairs, scoreInBetween, scoreNovelViews,
  type InBetweenRow, type NovelViewRow, type RgbdFrame, type ViewScore,
} from '../src/pipeline/novel-view.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(here, '..', '..', 'shared');
const HALF = process.argv.includes('--half');

const maybeHalf = (frames: RgbdFrame[]): RgbdFrame[] => (HALF ? frames.map(halveFrame) : frames);
const fmt = (v: ViewScore): string => `${v.full.psnr.toFixed(2)} / ${v.full.ssim.toFixed(3)} | ${v.covisible.psnr.toFixed(2)} / ${v.covisible.ssim.toFixed(3)}`;

const started = performance.now();
const redwood = maybeHalf(await loadRedwoodFrames(path.join(SHARED, 'data/open3d_rgbd_testdata')));
const novel: { dataset: string; rows: NovelViewRow[] }[] = [];
{
  const sources = [redwood[0]!, redwood[2]!, redwood[4]!];
  novel.push({ dataset: 'redwood', rows: scoreNovelViews(buildMergedGaussians(sources), sources, [redwood[1]!, redwood[3]!]) });
}
{
  const pairs = (await loadTumPairs(path.join(SHARED, 'data/tum_rgbd_pairs_densevo'))).map((pair) => maybeHalf(pair));
  const rows: NovelViewRow[] = [];
  for (const [a, b] of pairs) {
    for (const [source, target] of [[a!, b!], [b!, a!]] as const) {
      if (source.depth === null || target.depth === null) {
        // A target without GT depth has no covisibility mask; keep such a pair one-way.
        if (source.depth === null) continue;
      }
      if (target.depth === null) continue;
      rows.push(...scoreNovelViews(buildMergedGaussians([source]), [source], [target]));
    }
  }
  novel.push({ dataset: 'tum-densevo', rows });
}
const inBetween: InBetweenRow[] = [];
for (const match of ['nearest', 'pixels'] as const) {
  for (const k of [1, 3]) inBetween.push({ ...scoreInBetween(redwood[k - 1]!, redwood[k]!, redwood[k + 1]!, 0.5, { match }), match } as InBetweenRow & { match: string });
}

console.log(`\nNovel views (PSNR dB / SSIM, whole image | covisible pixels)${HALF ? ', frames at half resolution' : ''}`);
console.log('dataset      target               sources                            covis  Gaussians  splats                          points 1px                      points 3x3');
for (const { dataset, rows } of novel) {
  for (const r of rows) {
    console.log(`${dataset.padEnd(12)} ${r.target.padEnd(20)} ${r.sources.join(',').padEnd(34)} ${(100 * r.covisibleFraction).toFixed(0).padStart(4)}%  ${String(r.gaussians).padStart(9)}  ${fmt(r.splats)}  ${fmt(r.points.r0)}  ${fmt(r.points.r1)}`);
  }
}
console.log('\nIn-between frames, Redwood, s = 0.5 (PSNR dB / SSIM, whole image | covisible pixels)');
console.log('dropped         match    matched  interpolated                    previous set                    next set                        previous image                  next image');
for (const r of inBetween as (InBetweenRow & { match: string })[]) {
  console.log(`${r.dropped.padEnd(15)} ${r.match.padEnd(8)} ${(100 * r.matchedFraction).toFixed(0).padStart(6)}%  ${fmt(r.interpolated)}  ${fmt(r.previousSet)}  ${fmt(r.nextSet)}  ${fmt(r.previousImage)}  ${fmt(r.nextImage)}`);
}
const result = { bench: 'splat-novel-view', half: HALF, seconds: (performance.now() - started) / 1000, novelViews: novel, inBetween };
console.log(JSON.stringify(result, null, 1));
await mkdir(path.join(here, 'results'), { recursive: true });
await writeFile(path.join(here, 'results', `splat-novel-view${HALF ? '-half' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
