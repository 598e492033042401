import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { allocateGaussianSet, createGaussianSet, UNLABELED, type GaussianSet } from '../core/gaussians.ts';
import {
  attachSemantics, classLabelsFor, featureSimilarity, indicesOfClass, queryByClass, queryByFeature, type ClassLabelMap, type FeatureMap,
} from './semantics.ts';

const VOC = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'dining table', 'dog', 'horse', 'motorbike', 'person', 'potted plant', 'sheep', 'sofa', 'train', 'tv/monitor',
];

/** n Gaussians whose x position is their index, so a subset shows which ones it holds. */
function indexedSet(n: number): GaussianSet {
  const set = allocateGaussianSet(n, 'world');
  for (let i = 0; i < n; i++) set.positions[i * 3] = i;
  return set;
}

function xs(set: GaussianSet): number[] {
  return Array.from({ length: set.count }, (_, i) => set.positions[i * 3]!);
}

/** 3x2 map, labels in raster order: person, cat, tv/monitor / dining table, person, background. */
const MAP: ClassLabelMap = { kind: 'classes', width: 3, height: 2, labels: new Uint8Array([15, 8, 20, 11, 15, 0]), classNames: VOC };

describe('attachSemantics (class map)', () => {
  it('gives each Gaussian its source pixel\'s class, UNLABELED for -1', () => {
    // Gaussian i comes from pixel sources[i]: (2,1) -> background, (0,0) -> person, none, (2,0) -> tv/monitor, (1,1) -> person.
    const set = attachSemantics(indexedSet(5), new Int32Array([5, 0, -1, 2, 4]), MAP);
    assert.deepEqual(Array.from(set.semantics!.labels), [0, 15, UNLABELED, 20, 15]);
    assert.equal(set.semantics!.classNames, VOC);
  });

  it('rejects sources outside the map, a wrong count, and labels without a class name', () => {
    assert.throws(() => attachSemantics(indexedSet(2), new Int32Array([0, 6]), MAP), (e: unknown) => e instanceof InputError && /source pixel 6/.test(e.message));
    assert.throws(() => attachSemantics(indexedSet(2), new Int32Array([0, -2]), MAP), InputError);
    assert.throws(() => attachSemantics(indexedSet(3), new Uint32Array([0, 1]), MAP), /2 entries for 3 Gaussians/);
    const bad: ClassLabelMap = { ...MAP, labels: new Uint8Array([0, 0, 0, 0, 0, 21]) };
    assert.throws(() => attachSemantics(indexedSet(1), new Uint32Array([5]), bad), /label 21/);
  });
});

describe('queryByClass', () => {
  // Gaussian i from pixel i % 6: labels person, cat, tv/monitor, dining table, person, background, person, cat.
  const set = attachSemantics(indexedSet(8), Uint32Array.from({ length: 8 }, (_, i) => i % 6), MAP);

  it('returns exactly the Gaussians of the class, in order, case-insensitively', () => {
    assert.deepEqual(xs(queryByClass(set, 'person')), [0, 4, 6]);
    assert.deepEqual(xs(queryByClass(set, 'PERSON')), [0, 4, 6]);
    assert.deepEqual(Array.from(queryByClass(set, 'Person').semantics!.labels), [15, 15, 15]);
    assert.deepEqual(xs(queryByClass(set, ['cat', 'background'])), [1, 5, 7]);
    assert.equal(queryByClass(set, 'dog').count, 0);
  });

  it('accepts the parts of "tv/monitor" and spellings of "dining table"', () => {
    for (const name of ['tv', 'Monitor', 'tv/monitor', 'TV / Monitor']) assert.deepEqual(Array.from(indicesOfClass(set, name)), [2], name);
    for (const name of ['dining table', 'diningtable', 'Dining_Table']) assert.deepEqual(Array.from(indicesOfClass(set, name)), [3], name);
  });

  it('an unknown name lists the available classes', () => {
    assert.throws(() => queryByClass(set, 'giraffe'), (e: unknown) => e instanceof InputError
      && /Unknown class "giraffe"/.test(e.message) && /person/.test(e.message) && /tv\/monitor/.test(e.message));
    assert.throws(() => classLabelsFor(VOC, []), InputError);
    assert.throws(() => queryByClass(indexedSet(2), 'person'), /no semantics/);
  });

  it('a whole-name match wins over a part match', () => {
    assert.deepEqual([...classLabelsFor(['tv', 'tv/monitor'], 'tv')], [0]);
    assert.deepEqual([...classLabelsFor(['tv', 'tv/monitor'], 'monitor')], [1]);
  });
});

describe('features and queryByFeature', () => {
  // 2-D features at known angles and lengths; pixel 5 has the zero vector.
  const angles = [0, 30, 60, 90, 180];
  const lengths = [1, 2, 0.5, 3, 1];
  const data = new Float32Array(12);
  angles.forEach((deg, k) => {
    data[k * 2] = lengths[k]! * Math.cos((deg * Math.PI) / 180);
    data[k * 2 + 1] = lengths[k]! * Math.sin((deg * Math.PI) / 180);
  });
  const features: FeatureMap = { kind: 'features', width: 3, height: 2, dims: 2, data };
  const sources = new Int32Array([0, 1, 2, 3, 4, 5, -1]);

  it('similarity is the cosine of the angle to the query, whatever the lengths', () => {
    const set = attachSemantics(indexedSet(7), sources, features);
    const sim = featureSimilarity(set, new Float32Array([2, 0]));
    angles.forEach((deg, k) => assert.ok(Math.abs(sim[k]! - Math.cos((deg * Math.PI) / 180)) < 1e-6, `${deg} deg`));
    assert.ok(Number.isNaN(sim[5]!) && Number.isNaN(sim[6]!));
    assert.deepEqual(Array.from(set.semantics!.labels), new Array(7).fill(UNLABELED));
  });

  it('keeps the Gaussians within the angle of the threshold, never those without a feature', () => {
    const set = attachSemantics(indexedSet(7), sources, features);
    assert.deepEqual(xs(queryByFeature(set, new Float32Array([1, 0]), Math.cos(Math.PI / 4))), [0, 1]);
    assert.deepEqual(xs(queryByFeature(set, new Float32Array([0, 5]), 0.45)), [1, 2, 3]); // sin 30 deg = 0.5 clears 0.45
    assert.deepEqual(xs(queryByFeature(set, new Float32Array([1, 0]), -1)), [0, 1, 2, 3, 4]);
    // The subset carries its feature rows.
    const sub = queryByFeature(set, new Float32Array([0, 1]), 0.99);
    const row = sub.semantics!.features!.data;
    assert.equal(sub.count, 1);
    assert.ok(Math.abs(row[0]!) < 1e-6 && row[1] === 3, `row ${row[0]}, ${row[1]}`);
  });

  it('labels and features attach independently and both survive', () => {
    const both = attachSemantics(attachSemantics(indexedSet(7), sources, features), sources, MAP);
    assert.equal(both.semantics!.features!.dims, 2);
    assert.deepEqual(xs(queryByFeature(queryByClass(both, 'person'), new Float32Array([1, 0]), 0.9)), [0]);
  });

  it('rejects a query of the wrong size, a zero query, a bad threshold, and sets without features', () => {
    const set = attachSemantics(indexedSet(7), sources, features);
    assert.throws(() => queryByFeature(set, new Float32Array(3), 0.5), /3 dims/);
    assert.throws(() => queryByFeature(set, new Float32Array(2), 0.5), /non-zero/);
    assert.throws(() => queryByFeature(set, new Float32Array([1, 0]), 1.5), /threshold/);
    assert.throws(() => queryByFeature(attachSemantics(indexedSet(1), new Int32Array([0]), MAP), new Float32Array([1, 0]), 0), /no semantic features/);
    assert.throws(() => createGaussianSet({ ...set, semantics: { ...set.semantics!, features: { dims: 3, data: new Float32Array(14) } } }), InputError);
  });
});
