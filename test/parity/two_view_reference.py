#!/usr/bin/env python3
"""Independent reference for src/geometry's two-view estimators (run with Debian's python3: cv2, numpy).

Usage: python3 two_view_reference.py JOB.json OUT.json
JOB.json holds {"tasks": [...]}; every task names its op and carries its data inline (JSON numbers keep
float64 exactly). OUT.json receives {"versions": {...}, "results": [...]}, one result per task, in order.

Ops:
- "essential": relative pose as SuperGlue's evaluation (`estimate_pose`) does it: pixels normalised with the
  intrinsics, cv2.findEssentialMat(..., np.eye(3), threshold=thresholdPx / mean(fx0, fy0, fx1, fy1),
  prob=0.99999, method=cv2.RANSAC), then cv2.recoverPose with distanceThresh 1e9 for each returned E, keeping
  the one with the most cheirality inliers. Returns R (row-major), t, inlier count and the wall time of
  findEssentialMat + recoverPose in ms. cv2's RNG is seeded with `seed` first.
- "triangulate": cv2.triangulatePoints(P0, P1, x0, x1) with P = [R | t] (cameraFromWorld) on normalised
  coordinates; returns the dehomogenised points (row-major N x 3).
- "fundamental8": cv2.findFundamentalMat(pixels0, pixels1, cv2.FM_8POINT); returns F (row-major).
- "homography": cv2.findHomography(pixels0, pixels1, 0) (all-points least squares); returns H (row-major).
- "timing": median over `repeats` runs of the wall time (ms) of the "essential" op's cv2 calls.
"""
import json
import sys
import time

import cv2
import numpy as np


def points(flat):
    return np.asarray(flat, dtype=np.float64).reshape(-1, 2)


def normalise(pixels, k):
    fx, fy, cx, cy = k
    return np.stack([(pixels[:, 0] - cx) / fx, (pixels[:, 1] - cy) / fy], axis=1)


def essential_pose(task):
    cv2.setRNGSeed(int(task.get('seed', 0)))
    k0, k1 = task['k0'], task['k1']
    p0 = normalise(points(task['pixels0']), k0)
    p1 = normalise(points(task['pixels1']), k1)
    threshold = task['thresholdPx'] / np.mean([k0[0], k0[1], k1[0], k1[1]])
    start = time.perf_counter()
    e, mask = cv2.findEssentialMat(p0, p1, np.eye(3), threshold=threshold, prob=task.get('prob', 0.99999), method=cv2.RANSAC)
    best = None
    if e is not None:
        for candidate in np.split(e, len(e) // 3):
            n, r, t, _ = cv2.recoverPose(candidate, p0, p1, np.eye(3), 1e9, mask=mask.copy())
            if best is None or n > best[0]:
                best = (n, r, t)
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    if best is None:
        return {'ok': False, 'ms': elapsed_ms}
    n, r, t = best
    return {
        'ok': True,
        'rotation': r.reshape(-1).tolist(),
        'translation': t.reshape(-1).tolist(),
        'numInliers': int(n),
        'numEssentialInliers': int(mask.sum()),
        'ms': elapsed_ms,
    }


def triangulate(task):
    p0 = np.asarray(task['P0'], dtype=np.float64).reshape(3, 4)
    p1 = np.asarray(task['P1'], dtype=np.float64).reshape(3, 4)
    x0 = points(task['x0']).T.copy()
    x1 = points(task['x1']).T.copy()
    homogeneous = cv2.triangulatePoints(p0, p1, x0, x1)
    xyz = (homogeneous[:3] / homogeneous[3]).T
    return {'points': xyz.reshape(-1).tolist()}


def fundamental8(task):
    f, _ = cv2.findFundamentalMat(points(task['pixels0']), points(task['pixels1']), cv2.FM_8POINT)
    return {'fundamental': f.reshape(-1).tolist()}


def homography(task):
    h, _ = cv2.findHomography(points(task['pixels0']), points(task['pixels1']), 0)
    return {'homography': h.reshape(-1).tolist()}


def timing(task):
    times = [essential_pose(task)['ms'] for _ in range(int(task.get('repeats', 5)))]
    return {'medianMs': float(np.median(times)), 'times': times}


OPS = {
    'essential': essential_pose,
    'triangulate': triangulate,
    'fundamental8': fundamental8,
    'homography': homography,
    'timing': timing,
}


def main():
    with open(sys.argv[1], encoding='utf-8') as handle:
        job = json.load(handle)
    results = [OPS[task['op']](task) for task in job['tasks']]
    with open(sys.argv[2], 'w', encoding='utf-8') as handle:
        json.dump({'versions': {'cv2': cv2.__version__, 'numpy': np.__version__}, 'results': results}, handle)


if __name__ == '__main__':
    main()
