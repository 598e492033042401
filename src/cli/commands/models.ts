/** `anyview models`: the registry (ids, sizes, licences), where files go for offline use, fetching, inspecting. */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { listModels, getModelSpec, filesForVariant, listVariants, DEFAULT_VARIANT } from '../../models/registry.ts';
import { cachePathFor, modelDirCandidates, resolveModel } from '../../models/resolve.ts';
import { createOnnxRuntimeNodeBackend } from '../../models/onnxruntime-node.ts';
import { detectDepthContract } from '../../models/contract.ts';
import type { ModelVariant } from '../../models/model-spec.ts';
import { readCliEnvironment } from '../environment.ts';
import { createProgressSink } from '../progress.ts';
import { createCliLogger } from '../log.ts';

const VARIANTS: readonly ModelVariant[] = ['fp32', 'fp16', 'int8', 'q4', 'q4f16'];

function formatSize(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1e6).toFixed(0)} MB`;
}

function listAction(flags: { json: boolean }): void {
  const env = readCliEnvironment();
  const rows = listModels().map((spec) => {
    const fp32 = filesForVariant(spec, DEFAULT_VARIANT)[0];
    return {
      id: spec.id,
      family: spec.family,
      output: spec.output.kind,
      paramsM: spec.paramsM,
      license: spec.license.spdx,
      commercialUse: spec.license.commercialUse,
      variants: listVariants(spec),
      fp32Size: fp32?.sizeBytes,
      cached: fp32 !== undefined && existsSync(cachePathFor(env.cacheDir, spec, fp32)),
    };
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const header = ['id', 'output', 'params', 'licence', 'variants', 'fp32 size', 'cached'];
  const table = rows.map((r) => [r.id, r.output, `${r.paramsM}M`, `${r.license}${r.commercialUse ? '' : ' (non-commercial)'}`, r.variants.join(','), formatSize(r.fp32Size), r.cached ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [header, ...table]) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);
}

function whereAction(id: string, flags: { variant: ModelVariant }): void {
  const env = readCliEnvironment();
  const spec = getModelSpec(id);
  process.stdout.write(`${spec.displayName} (${spec.id}), licence ${spec.license.spdx}\n`);
  for (const file of filesForVariant(spec, flags.variant)) {
    process.stdout.write(`\n${file.fileName}${file.sha256 ? `  sha256 ${file.sha256}` : ''}\n`);
    for (const url of file.urls) process.stdout.write(`  download: ${url}\n`);
    process.stdout.write(`  put it at: ${cachePathFor(env.cacheDir, spec, file)}\n`);
    if (env.modelDir !== undefined) for (const p of modelDirCandidates(env.modelDir, spec, file)) process.stdout.write(`        or: ${p}\n`);
    else process.stdout.write(`        or: $ANYVIEW_MODEL_DIR/${spec.id}/${file.fileName}\n`);
  }
}

async function fetchAction(id: string, flags: { variant: ModelVariant }): Promise<void> {
  const env = readCliEnvironment();
  const progress = createProgressSink(process.stderr.isTTY ? 'bar' : 'none');
  try {
    const resolved = await resolveModel(id, { variant: flags.variant, modelDir: env.modelDir, cacheDir: env.cacheDir, allowDownload: env.allowDownload }, { onProgress: progress.onProgress, log: createCliLogger({ debug: env.debug, quiet: false, format: 'text' }) });
    progress.stop();
    process.stdout.write(`${resolved.path} (${resolved.source})\n`);
  } finally {
    progress.stop();
  }
}

async function inspectAction(file: string, flags: { json: boolean }): Promise<void> {
  const backend = createOnnxRuntimeNodeBackend();
  try {
    const session = await backend.open(file, { device: 'cpu' });
    const contract = detectDepthContract(session);
    const report = { file, inputs: session.inputs, outputs: session.outputs, depthContract: contract };
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(`${file}: depth model, input "${contract.inputName}" (${contract.inputDType}), output "${contract.outputName}" (${contract.outputLayout})\n`);
      process.stdout.write(contract.staticInput !== undefined
        ? `  static input size ${contract.staticInput.width}x${contract.staticInput.height}: images are resized to exactly this\n`
        : '  dynamic height and width: the size rule applies\n');
    }
  } finally {
    await backend.dispose();
  }
}

export function modelsCommand(): Command {
  const variant = () => new Option('--variant <precision>', 'weights precision').choices(VARIANTS).default(DEFAULT_VARIANT);
  const models = new Command('models').description('Model registry: list, locate, fetch and inspect models');
  models.command('list', { isDefault: true }).description('list the registry (ids, output kinds, sizes, licences)')
    .option('--json', 'machine-readable', false).action(listAction);
  models.command('where').description('where to download a model and where to put it for offline use')
    .argument('<id>').addOption(variant()).action(whereAction);
  models.command('fetch').description('download a model into the cache (resumable, checksum verified)')
    .argument('<id>').addOption(variant()).action(fetchAction);
  models.command('inspect').description('detect the input/output contract of an ONNX depth model file')
    .argument('<file>').option('--json', 'machine-readable', false).action(inspectAction);
  return models;
}
