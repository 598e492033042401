import { writeFile } from 'node:fs/promises';
import { buildDptVit, DEPTH_ANYTHING_V2_SMALL } from './onnx/dpt-vit.ts';
import { timeBenchModel } from './make-bench-model.ts';
const g = buildDptVit(DEPTH_ANYTHING_V2_SMALL);
const file = `/tmp/da_${process.env['SEP'] ?? '0'}.onnx`;
await writeFile(file, g.toBytes());
console.log(process.env['SEP'], g.parameterCount());
for (const r of await timeBenchModel(file, [[518, 924], [518, 518]])) console.log(r.height, r.width, r.medianMs.toFixed(0), r.runsMs.map((v) => v.toFixed(0)).join(','));
