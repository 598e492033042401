/**
 * Novel views of real RGB-D data (Redwood living-room, GT depth + trajectory.log poses, at half resolution to stay
 * fast): Gaussians built from frames 0, 2, 4 and rendered at held-out frames 1 and 3 must beat a z-buffered point
 * cloud of the same centres (1 px and 3x3 squares) against the real images, by PSNR and SSIM on the pixels the
 * sources' GT geometry sees. Measured (bench/splat-novel-view.ts --half): splats 28.5 / 28.4 dB, SSIM 0.82;
 * 3x3 points 25.6 / 25.9 dB, SSIM 0.73-0.74; 1 px points 13 dB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildMergedGaussians, halveFrame, loadRedwoodFrames, scoreNovelViews } from '../../src/pipeline/novel-view.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';

const ROOT = path.join(SHARED_DATA_DIR, 'open3d_rgbd_testdata');
const SKIP = existsSync(ROOT) ? false : `shared data not found at ${ROOT}`;

test('Redwood held-out views: splats beat 1 px and 3x3 point clouds by > 1.5 dB PSNR and > 0.05 SSIM (covisible pixels)', { skip: SKIP, timeout: 60_000 }, async () => {
  const frames = (await loadRedwoodFrames(ROOT)).map(halveFrame);
  const sources = [frames[0]!, frames[2]!, frames[4]!];
  const rows = scoreNovelViews(buildMergedGaussians(sources), sources, [frames[1]!, frames[3]!]);
  for (const r of rows) {
    console.log(`${r.target}: splats ${r.splats.covisible.psnr.toFixed(2)} dB / ${r.splats.covisible.ssim.toFixed(3)}, points 3x3 ${r.points.r1.covisible.psnr.toFixed(2)} / ${r.points.r1.covisible.ssim.toFixed(3)}, 1 px ${r.points.r0.covisible.psnr.toFixed(2)} / ${r.points.r0.covisible.ssim.toFixed(3)} (covisible ${(100 * r.covisibleFraction).toFixed(0)}%)`);
    assert.ok(r.covisibleFraction > 0.8, 'the held-out views are mostly seen by the sources');
    // An absolute floor, so a broken pipeline (e.g. a wrong pose convention: ~13 dB) cannot pass by beating worse points.
    assert.ok(r.splats.covisible.psnr > 26, `splat PSNR ${r.splats.covisible.psnr}`);
    for (const points of [r.points.r0, r.points.r1]) {
      assert.ok(r.splats.covisible.psnr > points.covisible.psnr + 1.5, `PSNR ${r.splats.covisible.psnr} vs points ${points.covisible.psnr}`);
      assert.ok(r.splats.covisible.ssim > points.covisible.ssim + 0.05, `SSIM ${r.splats.covisible.ssim} vs points ${points.covisible.ssim}`);
      assert.ok(r.splats.full.ssim > points.full.ssim, 'also on the whole image');
    }
  }
});
