/**
 * Seeded synthetic multi-view scenes with known truth, for tests of pose estimation, bundle adjustment and
 * structure-from-motion: cameras on a ring (or a hemisphere) around an object whose points lie near a sphere,
 * each point visible from the side its surface normal faces, keypoints with Gaussian pixel noise, clutter
 * keypoints without a 3-D point, and pairwise matches with a chosen fraction of wrong correspondences.
 *
 * Everything follows the library's conventions: poses `cameraFromWorld`, OpenCV axes, pixel centres at integer
 * coordinates. The same options and seed give the same scene.
 */
import type { Intrinsics } from '../../src/core/camera.ts';
import { angleBetweenDeg, rotationFromAxisAngle } from '../../src/geometry/mat3.ts';
import { createRng, type Rng } from '../../src/geometry/random.ts';
import { composePoses, invertPose, type RigidPose } from '../../src/geometry/rigid.ts';
import type { SfmView, VerifiedPair } from '../../src/sfm/types.ts';

export type CameraLayout = 'ring' | 'hemisphere';

export interface SyntheticSceneOptions {
  readonly numViews: number;
  readonly numPoints: number;
  readonly seed: number;
  /** Default 'ring'. */
  readonly layout?: CameraLayout;
  /** Distance of the camera centres from the object centre (the origin). Default 4. */
  readonly cameraDistance?: number;
  /** Radius of the sphere the points lie near (radial spread 0.75..1 of it). Default 2, so the object fills most of the image. */
  readonly objectRadius?: number;
  /** Default 640 x 480, focal 500 px, principal point at the image centre. */
  readonly width?: number;
  readonly height?: number;
  readonly focalPx?: number;
  /** A point is visible from a camera within this angle of its surface normal. Default 80 degrees. */
  readonly maxViewingAngleDeg?: number;
  /** Standard deviation of the keypoint noise in pixels. Default 0. */
  readonly noisePx?: number;
  /** Keypoints per view that belong to no 3-D point. Default 0. */
  readonly clutterPerView?: number;
  /** Fraction of each pair's matches replaced by a wrong keypoint of the second view. Default 0. */
  readonly outlierRatio?: number;
  /** Pairs are made between views whose optical axes differ by at most this. Default 70 degrees. */
  readonly maxPairAngleDeg?: number;
  /** Pairs with fewer common points are dropped. Default 20. */
  readonly minPairMatches?: number;
  /** Rotation noise (degrees, per axis) of the pairs' relative poses, mimicking a two-view estimate. Default 0. */
  readonly relativePoseNoiseDeg?: number;
  /** Build the pairwise matches (default true); bundle-adjustment tests that only need observations skip them. */
  readonly withPairs?: boolean;
}

export interface SyntheticScene {
  readonly intrinsics: Intrinsics;
  readonly cameraFromWorld: readonly RigidPose[];
  /** x, y, z per point (the truth). */
  readonly points: Float64Array;
  readonly pointColors: Uint8Array;
  readonly views: SfmView[];
  /** Per view: the 3-D point of each keypoint, -1 for clutter. */
  readonly keypointPoint: readonly Int32Array[];
  readonly pairs: VerifiedPair[];
  /** Every (view, point) visibility as an observation with its noisy pixel, view-major order. */
  readonly observationCamera: Uint32Array;
  readonly observationPoint: Uint32Array;
  readonly observationPixels: Float64Array;
  /** Per observation: the keypoint index in its view. */
  readonly observationKeypoint: Uint32Array;
  /** Diameter of the smallest sphere around the origin holding all camera centres. */
  readonly sceneSize: number;
}

/** cameraFromWorld of a camera at `centre` looking at the origin, image "up" towards world `up` (default +z). */
export function lookAtOrigin(centre: ArrayLike<number>, up: ArrayLike<number> = [0, 0, 1]): RigidPose {
  const cx = centre[0]!, cy = centre[1]!, cz = centre[2]!;
  const zn = Math.hypot(cx, cy, cz);
  const z = [-cx / zn, -cy / zn, -cz / zn];
  // x = z x up (right), y = z x x (down in OpenCV axes).
  let x = [z[1]! * up[2]! - z[2]! * up[1]!, z[2]! * up[0]! - z[0]! * up[2]!, z[0]! * up[1]! - z[1]! * up[0]!];
  let xn = Math.hypot(x[0]!, x[1]!, x[2]!);
  if (xn < 1e-9) { x = [1, 0, 0]; xn = 1; }
  x = [x[0]! / xn, x[1]! / xn, x[2]! / xn];
  const y = [z[1]! * x[2]! - z[2]! * x[1]!, z[2]! * x[0]! - z[0]! * x[2]!, z[0]! * x[1]! - z[1]! * x[0]!];
  const rotation = Float64Array.of(x[0]!, x[1]!, x[2]!, y[0]!, y[1]!, y[2]!, z[0]!, z[1]!, z[2]!);
  const t = [
    -(rotation[0]! * cx + rotation[1]! * cy + rotation[2]! * cz),
    -(rotation[3]! * cx + rotation[4]! * cy + rotation[5]! * cz),
    -(rotation[6]! * cx + rotation[7]! * cy + rotation[8]! * cz),
  ];
  return { rotation, translation: Float64Array.from(t) };
}

function cameraCentres(layout: CameraLayout, numViews: number, distance: number, rng: Rng): number[][] {
  const centres: number[][] = [];
  for (let i = 0; i < numViews; i++) {
    if (layout === 'ring') {
      const angle = (2 * Math.PI * i) / numViews + (rng.next() - 0.5) * 0.05;
      const height = distance * (0.25 + 0.15 * Math.sin(3 * angle));
      const radial = Math.sqrt(distance * distance - height * height);
      centres.push([radial * Math.cos(angle), radial * Math.sin(angle), height]);
    } else {
      // Fibonacci spiral over the upper hemisphere (elevation 10..70 degrees).
      const golden = Math.PI * (3 - Math.sqrt(5));
      const elevation = ((10 + (60 * (i + 0.5)) / numViews) * Math.PI) / 180;
      const azimuth = golden * i;
      centres.push([
        distance * Math.cos(elevation) * Math.cos(azimuth),
        distance * Math.cos(elevation) * Math.sin(azimuth),
        distance * Math.sin(elevation),
      ]);
    }
  }
  return centres;
}

/** Builds the scene. Deterministic in (options, seed). */
export function createSyntheticScene(options: SyntheticSceneOptions): SyntheticScene {
  const rng = createRng(options.seed);
  const width = options.width ?? 640, height = options.height ?? 480, focal = options.focalPx ?? 500;
  const intrinsics: Intrinsics = { fxPx: focal, fyPx: focal, cxPx: (width - 1) / 2, cyPx: (height - 1) / 2, width, height };
  const distance = options.cameraDistance ?? 4;
  const objectRadius = options.objectRadius ?? 2;
  const maxViewingCos = Math.cos(((options.maxViewingAngleDeg ?? 80) * Math.PI) / 180);
  const noisePx = options.noisePx ?? 0;

  const centres = cameraCentres(options.layout ?? 'ring', options.numViews, distance, rng);
  const cameraFromWorld = centres.map((c) => {
    const base = lookAtOrigin(c);
    // A little rotation jitter so optical axes do not all meet at one point.
    const jitter = rotationFromAxisAngle([(rng.next() - 0.5) * 0.06, (rng.next() - 0.5) * 0.06, (rng.next() - 0.5) * 0.06]);
    return composePoses({ rotation: jitter, translation: new Float64Array(3) }, base);
  });

  const numPoints = options.numPoints;
  const points = new Float64Array(3 * numPoints);
  const normals = new Float64Array(3 * numPoints);
  const pointColors = new Uint8Array(3 * numPoints);
  for (let p = 0; p < numPoints; p++) {
    // Uniform direction, radius in 0.75..1 of the object radius.
    const z = 2 * rng.next() - 1, phi = 2 * Math.PI * rng.next(), s = Math.sqrt(1 - z * z);
    const n = [s * Math.cos(phi), s * Math.sin(phi), z];
    const r = objectRadius * (0.75 + 0.25 * rng.next());
    for (let a = 0; a < 3; a++) { normals[3 * p + a] = n[a]!; points[3 * p + a] = r * n[a]!; }
    for (let a = 0; a < 3; a++) pointColors[3 * p + a] = Math.round(127.5 + 127.5 * n[a]!);
  }

  const views: SfmView[] = [];
  const keypointPoint: Int32Array[] = [];
  /** Per view: keypoint index of each point, -1 where the view does not see it. */
  const pointKeypoint: Int32Array[] = [];
  const obsCamera: number[] = [], obsPoint: number[] = [], obsPixels: number[] = [], obsKeypoint: number[] = [];
  for (let v = 0; v < options.numViews; v++) {
    const pose = cameraFromWorld[v]!;
    const centre = centres[v]!;
    const visible: number[] = [];
    const pixels: number[] = [];
    for (let p = 0; p < numPoints; p++) {
      const X = [points[3 * p]!, points[3 * p + 1]!, points[3 * p + 2]!];
      const toCamera = [centre[0]! - X[0]!, centre[1]! - X[1]!, centre[2]! - X[2]!];
      const len = Math.hypot(toCamera[0]!, toCamera[1]!, toCamera[2]!);
      const cosView = (toCamera[0]! * normals[3 * p]! + toCamera[1]! * normals[3 * p + 1]! + toCamera[2]! * normals[3 * p + 2]!) / len;
      if (cosView < maxViewingCos) continue;
      const r = pose.rotation, t = pose.translation;
      const xc = r[0]! * X[0]! + r[1]! * X[1]! + r[2]! * X[2]! + t[0]!;
      const yc = r[3]! * X[0]! + r[4]! * X[1]! + r[5]! * X[2]! + t[1]!;
      const zc = r[6]! * X[0]! + r[7]! * X[1]! + r[8]! * X[2]! + t[2]!;
      if (!(zc > 0.1)) continue;
      const u = focal * (xc / zc) + intrinsics.cxPx + noisePx * rng.nextGaussian();
      const w = focal * (yc / zc) + intrinsics.cyPx + noisePx * rng.nextGaussian();
      if (u < 0 || w < 0 || u > width - 1 || w > height - 1) continue;
      visible.push(p);
      pixels.push(u, w);
    }
    const clutter = options.clutterPerView ?? 0;
    const total = visible.length + clutter;
    // A seeded shuffle so keypoint order says nothing about point identity.
    const order = Array.from({ length: total }, (_, i) => i);
    for (let i = total - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const keypoints = new Float32Array(2 * total);
    const colors = new Uint8Array(3 * total);
    const owner = new Int32Array(total).fill(-1);
    const lookup = new Int32Array(numPoints).fill(-1);
    for (let slot = 0; slot < total; slot++) {
      const source = order[slot]!;
      if (source < visible.length) {
        const p = visible[source]!;
        keypoints[2 * slot] = pixels[2 * source]!;
        keypoints[2 * slot + 1] = pixels[2 * source + 1]!;
        owner[slot] = p;
        lookup[p] = slot;
        colors.set(pointColors.subarray(3 * p, 3 * p + 3), 3 * slot);
      } else {
        keypoints[2 * slot] = rng.next() * (width - 1);
        keypoints[2 * slot + 1] = rng.next() * (height - 1);
        colors.set([128, 128, 128], 3 * slot);
      }
    }
    for (let p = 0; p < numPoints; p++) {
      const slot = lookup[p]!;
      if (slot < 0) continue;
      obsCamera.push(v); obsPoint.push(p); obsKeypoint.push(slot);
      // The Float32 keypoint is the observation, exactly as a feature extractor would report it.
      obsPixels.push(keypoints[2 * slot]!, keypoints[2 * slot + 1]!);
    }
    views.push({ index: v, name: `view${String(v).padStart(3, '0')}`, intrinsics, keypoints, keypointColors: colors });
    keypointPoint.push(owner);
    pointKeypoint.push(lookup);
  }

  const pairs = (options.withPairs ?? true) ? makePairs(options, cameraFromWorld, points, keypointPoint, pointKeypoint, centres, rng) : [];
  let sceneRadius = 0;
  for (const c of centres) sceneRadius = Math.max(sceneRadius, Math.hypot(c[0]!, c[1]!, c[2]!));
  return {
    intrinsics, cameraFromWorld, points, pointColors, views, keypointPoint, pairs,
    observationCamera: Uint32Array.from(obsCamera), observationPoint: Uint32Array.from(obsPoint),
    observationPixels: Float64Array.from(obsPixels), observationKeypoint: Uint32Array.from(obsKeypoint),
    sceneSize: 2 * sceneRadius,
  };
}

function opticalAxis(pose: RigidPose): number[] {
  return [pose.rotation[6]!, pose.rotation[7]!, pose.rotation[8]!];
}

function makePairs(
  options: SyntheticSceneOptions, poses: readonly RigidPose[], points: Float64Array,
  keypointPoint: readonly Int32Array[], pointKeypoint: readonly Int32Array[], centres: number[][], rng: Rng,
): VerifiedPair[] {
  const maxPairAngle = options.maxPairAngleDeg ?? 70;
  const minMatches = options.minPairMatches ?? 20;
  const outlierRatio = options.outlierRatio ?? 0;
  const poseNoiseRad = ((options.relativePoseNoiseDeg ?? 0) * Math.PI) / 180;
  const pairs: VerifiedPair[] = [];
  for (let i = 0; i < poses.length; i++) {
    for (let j = i + 1; j < poses.length; j++) {
      if (angleBetweenDeg(opticalAxis(poses[i]!), opticalAxis(poses[j]!)) > maxPairAngle) continue;
      const matches: number[] = [];
      const angles: number[] = [];
      const ci = centres[i]!, cj = centres[j]!;
      const seen1 = pointKeypoint[j]!;
      for (const k0 of keypointPoint[i]!.keys()) {
        const p = keypointPoint[i]![k0]!;
        if (p < 0) continue;
        const k1 = seen1[p]!;
        if (k1 < 0) continue;
        matches.push(k0, k1);
        const ax = ci[0]! - points[3 * p]!, ay = ci[1]! - points[3 * p + 1]!, az = ci[2]! - points[3 * p + 2]!;
        const bx = cj[0]! - points[3 * p]!, by = cj[1]! - points[3 * p + 1]!, bz = cj[2]! - points[3 * p + 2]!;
        const crossNorm = Math.hypot(ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx);
        angles.push((Math.atan2(crossNorm, ax * bx + ay * by + az * bz) * 180) / Math.PI);
      }
      const count = matches.length / 2;
      if (count < minMatches) continue;
      const numKeypoints1 = keypointPoint[j]!.length;
      for (let m = 0; m < count; m++) {
        if (rng.next() >= outlierRatio) continue;
        let wrong = rng.nextInt(numKeypoints1);
        if (wrong === matches[2 * m + 1]) wrong = (wrong + 1) % numKeypoints1;
        matches[2 * m + 1] = wrong;
      }
      const truth = composePoses(poses[j]!, invertPose(poses[i]!));
      const noise = rotationFromAxisAngle([poseNoiseRad * rng.nextGaussian(), poseNoiseRad * rng.nextGaussian(), poseNoiseRad * rng.nextGaussian()]);
      const rotation = composePoses({ rotation: noise, translation: new Float64Array(3) }, { rotation: truth.rotation, translation: new Float64Array(3) }).rotation;
      const tn = Math.hypot(truth.translation[0]!, truth.translation[1]!, truth.translation[2]!);
      angles.sort((a, b) => a - b);
      pairs.push({
        view0: i,
        view1: j,
        matches: Uint32Array.from(matches),
        pose1From0: { rotation, translation: truth.translation.map((x) => x / tn) },
        medianTriangulationAngleDeg: angles[Math.floor(angles.length / 2)]!,
      });
    }
  }
  return pairs;
}

/** Keeps the pairs whose two views are both in `views` (e.g. to cut a scene into disconnected parts). */
export function pairsWithin(pairs: readonly VerifiedPair[], views: ReadonlySet<number>): VerifiedPair[] {
  return pairs.filter((p) => views.has(p.view0) && views.has(p.view1));
}
