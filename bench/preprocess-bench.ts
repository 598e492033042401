/**
 * Times the Depth Anything pre- and postprocessing maths on a 1280x720 frame:
 * - preprocess: uint8 RGB 1280x720 -> float32 NCHW 1x3x518x924 (fused resizeNormalizeToNchw), and the unfused
 *   chain toFloatImage -> resizeBicubic -> normalizeToNchw for comparison;
 * - postprocess: 924x518 disparity -> 1280x720 with bilinear align_corners=True.
 * Usage: node --import tsx bench/preprocess-bench.ts [iterations]
 * Prints medians (and min / p90) in ms of wall time, plus the median process CPU time (less sensitive to other
 * processes competing for the cores); the content of the pixels does not change the cost. The load average
 * is printed too: on a shared 2-core machine, wall times grow with it.
 */
import os from 'node:os';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeToNchw, toFloatImage } from '../src/imaging/normalize.ts';
import { resizeBicubic, resizeNormalizeToNchw } from '../src/imaging/resize-bicubic.ts';
import { resizeBilinear } from '../src/imaging/resize-bilinear.ts';
import { networkInputSize } from '../src/models/size-rule.ts';

const iterations = Number(process.argv[2] ?? 40);
const WIDTH = 1280;
const HEIGHT = 720;

function pseudoRandomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function time(label: string, fn: () => unknown): void {
  for (let i = 0; i < 5; i++) fn(); // warm up the JIT
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
  }
  const at = (values: number[], q: number): string =>
    values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!.toFixed(2);
  console.log(
    `${label.padEnd(58)} median ${at(ms, 0.5).padStart(7)} ms   min ${at(ms, 0).padStart(7)}   p90 ${at(ms, 0.9).padStart(7)}` +
      `   cpu median ${at(cpuMs, 0.5).padStart(7)}`,
  );
}

const image = { width: WIDTH, height: HEIGHT, channels: 3 as const, colorSpace: 'srgb' as const, data: pseudoRandomBytes(WIDTH * HEIGHT * 3) };
const size = networkInputSize(WIDTH, HEIGHT, { sizeRule: 'lowerBound', targetPx: 518, multipleOf: 14 });
const disparity = { width: size.width, height: size.height, data: Float32Array.from(pseudoRandomBytes(size.width * size.height), (v) => v / 7) };

console.log(
  `${iterations} iterations, node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `network input ${size.width}x${size.height}`,
);
time(`preprocess fused ${WIDTH}x${HEIGHT} u8 -> 3x${size.height}x${size.width}`, () =>
  resizeNormalizeToNchw(image, size.width, size.height, IMAGENET_MEAN, IMAGENET_STD));
time('preprocess unfused (toFloat, resizeBicubic, normalize)', () =>
  normalizeToNchw(resizeBicubic(toFloatImage(image), size.width, size.height), IMAGENET_MEAN, IMAGENET_STD));
time(`postprocess bilinear align_corners ${size.width}x${size.height} -> ${WIDTH}x${HEIGHT}`, () =>
  resizeBilinear(disparity, WIDTH, HEIGHT, { alignCorners: true }));
