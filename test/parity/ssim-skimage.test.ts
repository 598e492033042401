/**
 * Our SSIM and PSNR (src/eval/image-metrics.ts) against scikit-image 0.19 (Debian python3-skimage), an independent
 * implementation: structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 * data_range=1, channel_axis=-1) is Wang et al.'s reference SSIM; peak_signal_noise_ratio(data_range=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createImage } from '../../src/core/image.ts';
import { createRng } from '../../src/geometry/random.ts';
import { psnr, ssim } from '../../src/eval/image-metrics.ts';
import { DEBIAN_PYTHON } from '../helpers/paths.ts';

const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import skimage'], { encoding: 'utf8' });
const SKIP = probe.status === 0 ? false : 'python3-skimage is not installed (scripts/test.sh installs it)';

const SCRIPT = `
import sys, numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio
w, h = int(sys.argv[1]), int(sys.argv[2])
raw = np.frombuffer(sys.stdin.buffer.read(), dtype='<f4')
a = raw[: w * h * 3].reshape(h, w, 3).astype(np.float64)
b = raw[w * h * 3 :].reshape(h, w, 3).astype(np.float64)
s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1)
p = peak_signal_noise_ratio(a, b, data_range=1.0)
print(repr(float(s)), repr(float(p)))
`;

test('SSIM and PSNR equal scikit-image on smooth textured images with blur, noise and a shift between them', { skip: SKIP }, () => {
  const width = 53, height = 37;
  const rng = createRng(9);
  const a = new Float32Array(width * height * 3);
  const b = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) {
    const i = (y * width + x) * 3 + c;
    a[i] = 0.5 + 0.4 * Math.sin(0.3 * x + c) * Math.cos(0.2 * y - c);
    b[i] = Math.min(1, Math.max(0, 0.5 + 0.35 * Math.sin(0.3 * (x + 0.7) + c) * Math.cos(0.2 * y - c) + 0.05 * rng.nextGaussian()));
  }
  const input = Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]);
  const run = spawnSync(DEBIAN_PYTHON, ['-c', SCRIPT, String(width), String(height)], { input, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const [refSsim, refPsnr] = run.stdout.trim().split(/\s+/).map(Number) as [number, number];
  const ia = createImage({ width, height, channels: 3, data: a });
  const ib = createImage({ width, height, channels: 3, data: b });
  const ours = ssim(ia, ib).mean;
  assert.ok(refSsim > 0.3 && refSsim < 0.95, `a non-trivial case (skimage SSIM ${refSsim})`);
  assert.ok(Math.abs(ours - refSsim) < 1e-9, `SSIM ${ours} vs skimage ${refSsim}`);
  assert.ok(Math.abs(psnr(ia, ib) - refPsnr) < 1e-9, `PSNR ${psnr(ia, ib)} vs skimage ${refPsnr}`);
});
