import ort from 'onnxruntime-node';
import { float, GraphBuilder } from './onnx/graph-builder.ts';
for (const mode of ['cubic', 'linear']) {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [1, 384, 37, 37]);
  const scales = g.input('scales', 'float32', [4]);
  const attrs = mode === 'cubic' ? { mode, cubic_coeff_a: float(-0.75), coordinate_transformation_mode: 'half_pixel' } : { mode, coordinate_transformation_mode: 'half_pixel' };
  g.output(g.op('Resize', [x, '', scales], attrs), 'float32', [1, 384, 'h', 'w'], 'y');
  const s = await ort.InferenceSession.create(g.toBytes());
  const xt = new ort.Tensor('float32', new Float32Array(384 * 37 * 37).fill(1), [1, 384, 37, 37]);
  for (const [ph, pw] of [[37, 37], [37, 66]]) {
    const st = new ort.Tensor('float32', Float32Array.from([1, 1, (ph + 0.1) / 37, (pw + 0.1) / 37]), [4]);
    await s.run({ x: xt, scales: st });
    const t0 = performance.now(); for (let i = 0; i < 5; i++) await s.run({ x: xt, scales: st });
    console.log(mode, ph, pw, ((performance.now() - t0) / 5).toFixed(1), 'ms');
  }
}
