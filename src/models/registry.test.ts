import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError, LicenseError } from '../core/errors.ts';
import { isSha256Hex } from './checksum.ts';
import { DA3_METRIC_SCALE } from './depth-anything-3.ts';
import {
  ALLOW_NON_COMMERCIAL_FLAG, assertLicenseAccepted, filesForVariant, getModelSpec, listModelIds, listModels, listVariants, selectFile,
} from './registry.ts';

const REQUIRED_IDS = [
  'depth-anything-v2-small', 'depth-anything-v2-base', 'depth-anything-v2-large', 'depth-anything-v1-small',
  'depth-anything-v2-metric-indoor-small', 'depth-anything-v2-metric-outdoor-small', 'da3mono-large', 'da3metric-large',
];

describe('registry integrity', () => {
  it('has every required id, once', () => {
    const ids = listModelIds();
    for (const id of REQUIRED_IDS) assert.ok(ids.includes(id), id);
    assert.equal(new Set(ids).size, ids.length);
  });

  for (const spec of listModels()) {
    it(`${spec.id}: URLs, licence, contract, preprocessing, output`, () => {
      assert.equal(spec.task, 'depth');
      assert.ok(spec.paramsM > 0);
      assert.match(spec.homepage, /^https:\/\//);
      assert.ok(spec.license.spdx === 'Apache-2.0' || spec.license.spdx === 'CC-BY-NC-4.0', spec.license.spdx);
      assert.equal(spec.license.commercialUse, spec.license.spdx !== 'CC-BY-NC-4.0');
      assert.ok(spec.contract.inputName.length > 0 && spec.contract.outputName.length > 0);
      assert.ok(spec.files.some((file) => file.variant === 'fp32'), 'has an fp32 file');
      const names = new Set<string>();
      for (const file of spec.files) {
        assert.ok(file.urls.length > 0, `${file.fileName} has URLs`);
        for (const url of file.urls) {
          assert.match(url, /^https:\/\/(huggingface\.co\/[^/]+\/[^/]+\/resolve\/main\/|github\.com\/[^/]+\/[^/]+\/releases\/download\/)/, url);
        }
        assert.match(file.fileName, /^[\w.-]+\.onnx$/);
        assert.ok(!names.has(file.fileName), `unique file name ${file.fileName}`);
        names.add(file.fileName);
        if (file.sha256 !== undefined) assert.ok(isSha256Hex(file.sha256), `${file.fileName} sha256 is lower-case hex`);
        if (file.sizeBytes !== undefined) assert.ok(Number.isInteger(file.sizeBytes) && file.sizeBytes > 0);
      }
      const p = spec.preprocess;
      assert.equal(p.multipleOf, 14);
      assert.equal(p.interpolation, 'bicubic');
      assert.deepEqual([...p.mean], [0.485, 0.456, 0.406]);
      assert.deepEqual([...p.std], [0.229, 0.224, 0.225]);
    });
  }

  it('Depth Anything V1/V2: 518 lower bound, disparity for the relative models, direct metres for the metric ones', () => {
    for (const id of ['depth-anything-v2-small', 'depth-anything-v2-base', 'depth-anything-v2-large', 'depth-anything-v1-small']) {
      const spec = getModelSpec(id);
      assert.equal(spec.preprocess.sizeRule, 'lowerBound');
      assert.equal(spec.preprocess.targetPx, 518);
      assert.deepEqual(spec.output, { kind: 'disparity' });
    }
    assert.deepEqual(getModelSpec('depth-anything-v2-metric-indoor-small').output, { kind: 'metricDepth', scaling: 'direct', maxDepthMeters: 20 });
    assert.deepEqual(getModelSpec('depth-anything-v2-metric-outdoor-small').output, { kind: 'metricDepth', scaling: 'direct', maxDepthMeters: 80 });
  });

  it('DA3: 504 upper bound; mono predicts relative depth (not disparity), metric is focal/300', () => {
    const mono = getModelSpec('da3mono-large');
    const metric = getModelSpec('da3metric-large');
    for (const spec of [mono, metric]) {
      assert.equal(spec.family, 'depth-anything-3');
      assert.equal(spec.preprocess.sizeRule, 'upperBound');
      assert.equal(spec.preprocess.targetPx, 504);
    }
    assert.deepEqual(mono.output, { kind: 'relativeDepth' });
    assert.deepEqual(metric.output, { kind: 'metricDepth', scaling: 'focalOver300' });
    assert.equal(DA3_METRIC_SCALE, 300);
  });

  it('V2 Base and Large are non-commercial; Small models are Apache-2.0', () => {
    assert.equal(getModelSpec('depth-anything-v2-base').license.commercialUse, false);
    assert.equal(getModelSpec('depth-anything-v2-large').license.commercialUse, false);
    assert.equal(getModelSpec('depth-anything-v2-small').license.spdx, 'Apache-2.0');
    assert.equal(getModelSpec('depth-anything-v1-small').license.spdx, 'Apache-2.0');
  });
});

describe('lookups', () => {
  it('getModelSpec is case-insensitive and lists the known ids for an unknown one', () => {
    assert.equal(getModelSpec('DA3MONO-LARGE').id, 'da3mono-large');
    assert.throws(() => getModelSpec('depth-anything-v9'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      for (const id of REQUIRED_IDS) assert.ok(error.message.includes(id), id);
      assert.ok(error.message.includes('depth-anything-v9'));
      return true;
    });
  });

  it('selectFile picks the preferred file of a variant and names the available ones otherwise', () => {
    const spec = getModelSpec('depth-anything-v2-small');
    assert.equal(selectFile(spec).fileName, 'model.onnx');
    assert.equal(selectFile(spec, 'fp16').fileName, 'model_fp16.onnx');
    assert.equal(selectFile(spec, 'q4f16').fileName, 'model_q4f16.onnx');
    assert.deepEqual(filesForVariant(spec, 'fp32').map((f) => f.fileName), ['model.onnx', 'depth_anything_v2_vits_dynamic.onnx']);
    assert.deepEqual(listVariants(spec), ['fp32', 'fp16', 'int8', 'q4f16']);
    assert.throws(() => selectFile(getModelSpec('da3metric-large'), 'fp16'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /no fp16 file.*Available variants: fp32/);
      return true;
    });
  });
});

describe('licence gate', () => {
  it('refuses non-commercial models without the opt-in, naming the licence and the flag', () => {
    for (const spec of listModels().filter((s) => !s.license.commercialUse)) {
      assert.throws(() => assertLicenseAccepted(spec, { allowNonCommercial: false }), (error: unknown) => {
        assert.ok(error instanceof LicenseError);
        assert.equal(error.exitCode, 7);
        assert.ok(error.message.includes('CC-BY-NC-4.0'));
        assert.ok(error.message.includes(ALLOW_NON_COMMERCIAL_FLAG));
        assert.ok(error.message.includes(spec.id));
        return true;
      });
      assertLicenseAccepted(spec, { allowNonCommercial: true });
    }
  });

  it('lets commercial-use models through either way', () => {
    const spec = getModelSpec('depth-anything-v2-small');
    assertLicenseAccepted(spec, { allowNonCommercial: false });
    assertLicenseAccepted(spec, { allowNonCommercial: true });
  });
});
