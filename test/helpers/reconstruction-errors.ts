/** Pose errors of a reconstruction against known cameras, after a Sim(3) alignment of the camera centres. */
import { axisAngleFromRotation, mul3, norm3, transpose3 } from '../../src/geometry/mat3.ts';
import { cameraCenter, type RigidPose } from '../../src/geometry/rigid.ts';
import { applySim3ToPoint, umeyamaSim3, type Sim3 } from '../../src/geometry/sim3.ts';
import type { Reconstruction } from '../../src/sfm/types.ts';

export function registeredViews(reconstruction: Reconstruction): number[] {
  return reconstruction.cameraFromWorld.flatMap((p, v) => (p === null ? [] : [v]));
}

/** Sim3 taking the reconstruction's camera centres onto the truth's, over the registered views. */
export function centreAlignment(reconstruction: Reconstruction, truth: readonly RigidPose[]): Sim3 {
  const views = registeredViews(reconstruction);
  const source = new Float64Array(3 * views.length), target = new Float64Array(3 * views.length);
  views.forEach((v, i) => { source.set(cameraCenter(reconstruction.cameraFromWorld[v]!), 3 * i); target.set(cameraCenter(truth[v]!), 3 * i); });
  return umeyamaSim3(source, target)!;
}

/** Largest rotation error (degrees) and centre error (truth's units) over the registered views. */
export function reconstructionPoseErrors(reconstruction: Reconstruction, truth: readonly RigidPose[]): { rotationDeg: number; centre: number } {
  const sim = centreAlignment(reconstruction, truth);
  let rotationDeg = 0, centre = 0;
  for (const v of registeredViews(reconstruction)) {
    const pose = reconstruction.cameraFromWorld[v]!;
    // X_true = s A X_est + b turns R_est into R_est A^T.
    const error = mul3(transpose3(truth[v]!.rotation), mul3(pose.rotation, transpose3(sim.rotation)));
    rotationDeg = Math.max(rotationDeg, (norm3(axisAngleFromRotation(error)) * 180) / Math.PI);
    const mapped = applySim3ToPoint(sim, cameraCenter(pose));
    const c = cameraCenter(truth[v]!);
    centre = Math.max(centre, Math.hypot(mapped[0]! - c[0]!, mapped[1]! - c[1]!, mapped[2]! - c[2]!));
  }
  return { rotationDeg, centre };
}
