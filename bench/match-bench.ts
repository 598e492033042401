/**
 * XFeat extraction and mutual-nearest-neighbour matching speed, on the real networks in ../shared/models:
 * - extraction at 640x640 (xfeat_640x640.onnx) for a 640x480 TUM frame and a 1600x1200 DTU image, split into
 *   preprocess (resize to NCHW), session.run and post-processing (heatmap, NMS, scores, bicubic descriptors);
 * - matching two real 4096-keypoint descriptor sets: the JS reference (src/geometry/match.ts, one thread) against
 *   the onnxruntime graph (src/models/matcher-graph.ts) with 1 and 2 intra-op threads.
 * Prints medians (and min) of wall time plus the median process CPU time (ORT threads included), which is less
 * sensitive to other processes competing for the cores; the load average is printed too. Writes a JSON summary
 * to bench/results/.
 *
 * Usage: node --import tsx bench/match-bench.ts [--runs 7] [--js-runs 3]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createImage, type Image } from '../src/core/image.ts';
import { matchMutualNearest } from '../src/geometry/match.ts';
import { decodeImage } from '../src/io/decode-image.ts';
import { createMutualNearestMatcher } from '../src/models/matcher-graph.ts';
import { createOnnxRuntimeNodeBackend } from '../src/models/onnxruntime-node.ts';
import {
  createXFeatExtractor, decodeXFeatOutputs, detectXFeatContract, openXFeatSession, xfeatInputTensor, xfeatRawOutputs, type LocalFeatures,
} from '../src/models/xfeat.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const shared = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(repo, '..', 'shared');
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const runs = flag('--runs', 7);
const jsRuns = flag('--js-runs', 3);

interface Timing { label: string; medianMs: number; minMs: number; cpuMedianMs: number }
const results: Timing[] = [];

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function time(label: string, n: number, fn: () => unknown): Promise<Timing> {
  await fn(); // warm up (JIT, ORT arena)
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(cpu0);
    cpu.push((c.user + c.system) / 1000);
  }
  const timing = { label, medianMs: median(ms), minMs: Math.min(...ms), cpuMedianMs: median(cpu) };
  console.log(`${label.padEnd(62)} median ${timing.medianMs.toFixed(1).padStart(8)} ms   min ${timing.minMs.toFixed(1).padStart(8)}`
    + `   cpu ${timing.cpuMedianMs.toFixed(1).padStart(8)}`);
  results.push(timing);
  return timing;
}

function crop(image: Image<Uint8Array>, left: number, top: number, width: number, height: number): Image<Uint8Array> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + width) * 3), y * width * 3);
  return createImage({ width, height, channels: 3, data });
}

console.log(`node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const backend = createOnnxRuntimeNodeBackend();
const scratch = await mkdtemp(path.join(os.tmpdir(), 'anyview-match-bench-'));
try {
  const modelPath = path.join(shared, 'models', 'xfeat_640x640.onnx');
  const tum = await decodeImage({ path: path.join(shared, 'data/tum_rgbd_pairs_densevo/examples/case_1/img_prev.png') });
  const dtu = await decodeImage({ path: path.join(shared, 'data/dtu_scan24_nerf_baseline/data/dtu_scan24/images/000000.png') });
  const keypointCounts: Record<string, number> = {};

  for (const threads of [1, 2]) {
    const session = await openXFeatSession(backend, modelPath, { intraOpThreads: threads });
    const contract = detectXFeatContract(session);
    const extractor = createXFeatExtractor(session);
    for (const [name, image] of [['TUM 640x480', tum], ['DTU 1600x1200', dtu]] as const) {
      const input = xfeatInputTensor(image, 640, 640);
      const feeds = { [contract.inputName]: { dtype: 'float32' as const, dims: [1, 3, 640, 640], data: input } };
      const raw = xfeatRawOutputs(await session.run(feeds), contract, modelPath);
      keypointCounts[name] = decodeXFeatOutputs(raw, image).count;
      if (threads === 1) {
        await time(`preprocess ${name} -> 3x640x640`, runs, () => xfeatInputTensor(image, 640, 640));
        await time(`postprocess ${name} (heatmap, NMS, top-4096, descriptors)`, runs, () => decodeXFeatOutputs(raw, image));
      }
      await time(`session.run xfeat_640x640, ${threads} thread(s)`, runs, () => session.run(feeds));
      await time(`extract ${name} end to end, ${threads} thread(s) [${keypointCounts[name]} kp]`, runs, () => extractor.extract(image));
    }
  }

  // Two real 4096-keypoint sets: DTU crops 16 px apart.
  const session = await openXFeatSession(backend, modelPath, { intraOpThreads: 2 });
  const extractor = createXFeatExtractor(session);
  const a: LocalFeatures = await extractor.extract(crop(dtu, 300, 200, 640, 640));
  const b: LocalFeatures = await extractor.extract(crop(dtu, 316, 200, 640, 640));
  console.log(`matching ${a.count} x ${b.count} x ${a.descriptorSize} (${((a.count * b.count * a.descriptorSize) / 1e9).toFixed(2)} GMAC)`);
  await time(`match JS reference (4x2 register blocks, float64)`, jsRuns, () => matchMutualNearest(a, b));
  for (const threads of [1, 2]) {
    const matcher = await createMutualNearestMatcher(backend, { scratchDir: scratch, intraOpThreads: threads });
    await time(`match onnxruntime (Gemm + TopK + ReduceMax), ${threads} thread(s)`, runs, () => matcher.match(a, b));
  }

  await mkdir(path.join(here, 'results'), { recursive: true });
  const out = path.join(here, 'results', `match-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(out, JSON.stringify({ node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), keypointCounts, results }, null, 2));
  console.log(`wrote ${path.relative(repo, out)}`);
} finally {
  await backend.dispose();
  await rm(scratch, { recursive: true, force: true });
}
