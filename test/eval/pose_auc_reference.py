"""Reference pose metrics in numpy, written from the published code's definitions, for
test/eval/pose-metrics-reference.test.ts:

- pose_auc and compute_pose_error: SuperGlue (magicleap/SuperGluePretrainedNetwork, models/utils.py);
- pairwise relative-pose errors and AUC: VGGT / Depth Anything 3 evaluation (relative pose of every pair,
  rotation angle from the trace, translation angle from the squared cosine, histogram-based AUC as in
  calculate_auc_np), with unregistered views counted as failures.

Usage: pose_auc_reference.py job.json  -> prints one JSON object. Infinity travels as null both ways
(JSON has no infinity).
"""
import json
import sys

import numpy as np


def inf_from_null(values):
    return np.array([np.inf if v is None else v for v in values], dtype=np.float64)


def null_from_inf(values):
    return [None if not np.isfinite(v) else float(v) for v in values]


# --- SuperGlue, models/utils.py ---------------------------------------------------------------

def angle_error_mat(R1, R2):
    cos = (np.trace(np.dot(R1.T, R2)) - 1) / 2
    cos = np.clip(cos, -1., 1.)
    return np.rad2deg(np.abs(np.arccos(cos)))


def angle_error_vec(v1, v2):
    n = np.linalg.norm(v1) * np.linalg.norm(v2)
    return np.rad2deg(np.arccos(np.clip(np.dot(v1, v2) / n, -1.0, 1.0)))


def compute_pose_error(R_gt, t_gt, R, t):
    error_t = angle_error_vec(t, t_gt)
    error_t = np.minimum(error_t, 180 - error_t)
    error_R = angle_error_mat(R, R_gt)
    return error_t, error_R


def pose_auc(errors, thresholds):
    sort_idx = np.argsort(errors)
    errors = np.array(errors.copy())[sort_idx]
    recall = (np.arange(len(errors)) + 1) / len(errors)
    errors = np.r_[0., errors]
    recall = np.r_[0., recall]
    aucs = []
    for t in thresholds:
        last_index = np.searchsorted(errors, t)
        r = np.r_[recall[:last_index], recall[last_index - 1]]
        e = np.r_[errors[:last_index], t]
        aucs.append(np.trapz(r, x=e) / t)
    return aucs


# --- VGGT / DA3 pairwise evaluation -----------------------------------------------------------

def rotation_angle_deg(R_gt, R_pred):
    cos = np.clip((np.trace(R_gt.T @ R_pred) - 1) / 2, -1.0, 1.0)
    return np.rad2deg(np.arccos(cos))


def translation_angle_deg(t_gt, t_pred, eps=1e-15):
    t = t_pred / (np.linalg.norm(t_pred) + eps)
    tg = t_gt / (np.linalg.norm(t_gt) + eps)
    loss_t = max(1.0 - np.dot(t, tg) ** 2, eps)
    err = np.rad2deg(np.arccos(np.sqrt(1 - loss_t)))
    return min(err, abs(180 - err))


def calculate_auc_np(max_errors, max_threshold):
    bins = np.arange(max_threshold + 1)
    histogram, _ = np.histogram(max_errors, bins=bins)
    normalized_histogram = histogram.astype(float) / float(len(max_errors))
    return np.mean(np.cumsum(normalized_histogram))


def pairwise(gt, est, thresholds):
    gt = [np.array(m, dtype=np.float64).reshape(4, 4) for m in gt]
    est = [None if m is None else np.array(m, dtype=np.float64).reshape(4, 4) for m in est]
    r_err, t_err = [], []
    for i in range(len(gt)):
        for j in range(i + 1, len(gt)):
            if est[i] is None or est[j] is None:
                r_err.append(np.inf)
                t_err.append(np.inf)
                continue
            rel_gt = np.linalg.inv(gt[j]) @ gt[i]
            rel_est = np.linalg.inv(est[j]) @ est[i]
            r_err.append(rotation_angle_deg(rel_gt[:3, :3], rel_est[:3, :3]))
            t_err.append(translation_angle_deg(rel_gt[:3, 3], rel_est[:3, 3]))
    max_errors = np.maximum(np.array(r_err), np.array(t_err))
    return {
        "rotation": null_from_inf(r_err),
        "translation": null_from_inf(t_err),
        "auc": [100 * calculate_auc_np(max_errors, t) for t in thresholds],
    }


def main():
    job = json.load(open(sys.argv[1]))
    out = {
        "superglue": [pose_auc(inf_from_null(c["errors"]), c["thresholds"]) for c in job["superglue"]],
        "poseError": [],
        "pairwise": [pairwise(c["gt"], c["est"], c["thresholds"]) for c in job["pairwise"]],
        "numpy": np.__version__,
    }
    for c in job["poseError"]:
        e_t, e_R = compute_pose_error(np.array(c["R_gt"]).reshape(3, 3), np.array(c["t_gt"]), np.array(c["R"]).reshape(3, 3), np.array(c["t"]))
        out["poseError"].append({"t": float(e_t), "R": float(e_R)})
    out["superglue"] = [[float(a) for a in aucs] for aucs in out["superglue"]]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
