import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
const s = await ort.InferenceSession.create('.cache/bench/da-v2-small-random/onnx/model.onnx', { enableProfiling: true, profileFilePrefix: '/tmp/ortprof' });
const [h, w] = [518, 924];
const t = new ort.Tensor('float32', new Float32Array(3 * h * w).fill(0.3), [1, 3, h, w]);
for (let r = 0; r < 3; r++) { const t0 = performance.now(); await s.run({ pixel_values: t }); console.log((performance.now() - t0).toFixed(0)); }
const file = s.endProfiling();
const events = JSON.parse(readFileSync(file as unknown as string, 'utf8')) as any[];
const byOp = new Map<string, number>();
for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur / 3000);
console.log([...byOp.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v.toFixed(0)}`).join(' '));
