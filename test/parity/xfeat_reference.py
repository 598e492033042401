#!/usr/bin/env python3
"""Independent numpy reference for src/models/xfeat.ts (run with Debian's python3: numpy, cv2).

Usage: python3 xfeat_reference.py JOB.json
JOB.json holds {"tasks": [...]}; each task names its op and its files (raw little-endian float32), and the
results are written as raw float32 (and a JSON line per task on stdout), so one process serves a test file.

Ops:
- "decode": XFeat.detectAndCompute's post-processing (verlab/accelerated_features modules/xfeat.py and
  modules/interpolator.py) on the network's three raw outputs, written here from PyTorch's documented semantics:
    * M1 = F.normalize(M1, dim=1)                      (x / max(||x||, 1e-12) per cell)
    * heatmap = softmax(K1, dim=1)[:, :64] pixel-shuffled 8x8 (channel r*8+c -> row r, column c of a cell)
    * NMS: MaxPool2d(k, stride 1, padding k//2, -inf padding); keep heat == local max and heat > threshold
    * scores = grid_sample(heatmap, 'nearest') * grid_sample(reliability, 'bilinear')
    * stable sort by -score, top k, keep score > 0
    * descriptors = normalize(grid_sample(M1, 'bicubic'))
  grid_sample is emulated as torch's CPU kernel does it: align_corners=False, padding_mode='zeros', grid
  g = 2 * pos / (size - 1) - 1 with pos the integer keypoint and size the NETWORK input size, all in float32;
  source = ((g + 1) * map_size - 1) / 2; 'nearest' rounds half to even (nearbyint); 'bicubic' is cubic
  convolution with A = -0.75 on taps floor(src)-1 .. floor(src)+2; taps outside the map read 0.
  Keypoints map back to the image with pixel centres: (x + 0.5) * W0 / W - 0.5 (see xfeat.ts, step 6).
  The pixel-shuffle uses reshape/transpose (as torch's permute/reshape), not index arithmetic.
- "resize": the network input from raw uint8 RGB: float32 /255, then half-pixel bilinear without antialiasing,
  once with cv2.resize(INTER_LINEAR) and once from the torch formula in float64 (src = max((d+0.5)*in/out-0.5, 0),
  x0 = min(floor, in-1), x1 = min(x0+1, in-1)); both written NCHW.
"""
import json
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

A = -0.75


def read_f32(path, shape):
    return np.fromfile(path, dtype='<f4').reshape(shape)


def write_f32(path, array):
    np.ascontiguousarray(array, dtype='<f4').tofile(path)


def heatmap_of(logits):
    c, gh, gw = logits.shape
    assert c == 65
    z = logits.astype(np.float64)
    z = z - z.max(axis=0, keepdims=True)
    e = np.exp(z)
    p = (e / e.sum(axis=0, keepdims=True))[:64]               # (64, gh, gw)
    p = p.transpose(1, 2, 0).reshape(gh, gw, 8, 8)             # (gh, gw, r, c)   as permute(0,2,3,1).reshape
    p = p.transpose(0, 2, 1, 3).reshape(gh * 8, gw * 8)        # (gh, r, gw, c)   as permute(0,1,3,2,4).reshape
    return p.astype(np.float32)


def nms(heat, kernel, threshold):
    pad = kernel // 2
    padded = np.pad(heat, pad, mode='constant', constant_values=-np.inf)
    local_max = sliding_window_view(padded, (kernel, kernel)).max(axis=(2, 3))
    ys, xs = np.nonzero((heat == local_max) & (heat > np.float32(threshold)))
    return xs, ys


def source_coords(pos, net_size, map_size):
    """InterpolateSparse2d.normgrid then grid_sampler_unnormalize (align_corners=False), in float32."""
    pos = pos.astype(np.float32)
    g = np.float32(2.0) * (pos / np.float32(net_size - 1)) - np.float32(1.0)
    return ((g + np.float32(1.0)) * np.float32(map_size) - np.float32(1.0)) / np.float32(2.0)


def tap(m, xs, ys):
    """m (C, h, w) at integer taps, zero outside: (N, C)."""
    c, h, w = m.shape
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    vals = m[:, np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)].T.astype(np.float64)
    return vals * inside[:, None]


def grid_nearest(m, u, v):
    return tap(m, np.rint(u).astype(np.int64), np.rint(v).astype(np.int64))  # rint: round half to even


def grid_bilinear(m, u, v):
    u = u.astype(np.float64)
    v = v.astype(np.float64)
    x0 = np.floor(u).astype(np.int64)
    y0 = np.floor(v).astype(np.int64)
    tx = (u - x0)[:, None]
    ty = (v - y0)[:, None]
    return (tap(m, x0, y0) * (1 - tx) * (1 - ty) + tap(m, x0 + 1, y0) * tx * (1 - ty)
            + tap(m, x0, y0 + 1) * (1 - tx) * ty + tap(m, x0 + 1, y0 + 1) * tx * ty)


def cubic_kernel(d):
    """Keys' cubic convolution at distance d (array), A = -0.75."""
    d = np.abs(d)
    near = ((A + 2) * d - (A + 3)) * d * d + 1
    far = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def grid_bicubic(m, u, v):
    u = u.astype(np.float64)
    v = v.astype(np.float64)
    x0 = np.floor(u).astype(np.int64)
    y0 = np.floor(v).astype(np.int64)
    out = np.zeros((len(u), m.shape[0]))
    for j in range(-1, 3):
        wy = cubic_kernel(v - (y0 + j))[:, None]
        for i in range(-1, 3):
            wx = cubic_kernel(u - (x0 + i))[:, None]
            out += wx * wy * tap(m, x0 + i, y0 + j)
    return out


def l2_normalize(x, axis):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def decode(task):
    gw, gh, dim = task['gridWidth'], task['gridHeight'], task['descriptorSize']
    W, H = gw * 8, gh * 8
    M = read_f32(task['descriptors'], (dim, gh, gw))
    K = read_f32(task['keypointLogits'], (65, gh, gw))
    R = read_f32(task['reliability'], (1, gh, gw))
    M = l2_normalize(M.astype(np.float64), 0).astype(np.float32)
    heat = heatmap_of(K)
    xs, ys = nms(heat, task['nmsKernel'], task['detectionThreshold'])
    hx, hy = source_coords(xs, W, W), source_coords(ys, H, H)
    rx, ry = source_coords(xs, W, gw), source_coords(ys, H, gh)
    scores = (grid_nearest(heat[None], hx, hy)[:, 0] * grid_bilinear(R, rx, ry)[:, 0]).astype(np.float32)
    order = np.argsort(-scores, kind='stable')[:task['maxKeypoints']]
    order = order[scores[order] > 0]
    xs, ys, scores = xs[order], ys[order], scores[order]
    feats = l2_normalize(grid_bicubic(M, source_coords(xs, W, gw), source_coords(ys, H, gh)), 1)
    kx = (xs + 0.5) * (task['imageWidth'] / W) - 0.5
    ky = (ys + 0.5) * (task['imageHeight'] / H) - 0.5
    write_f32(task['outKeypoints'], np.stack([kx, ky], axis=1))
    write_f32(task['outScores'], scores)
    write_f32(task['outDescriptors'], feats)
    return {'count': int(len(order)), 'peaks': int(len(order))}


def half_pixel_taps(n_in, n_out):
    d = np.arange(n_out, dtype=np.float64)
    x = np.maximum((d + 0.5) * n_in / n_out - 0.5, 0)
    x0 = np.minimum(np.floor(x).astype(np.int64), n_in - 1)
    x1 = np.minimum(x0 + 1, n_in - 1)
    return x0, x1, x - x0


def resize(task, cv2):
    w, h, ow, oh = task['width'], task['height'], task['outWidth'], task['outHeight']
    rgb = np.fromfile(task['input'], dtype=np.uint8).reshape(h, w, 3)
    image = rgb.astype(np.float32) / np.float32(255)
    cv = cv2.resize(image, (ow, oh), interpolation=cv2.INTER_LINEAR)
    write_f32(task['outputCv2'], cv.transpose(2, 0, 1))
    x0, x1, tx = half_pixel_taps(w, ow)
    y0, y1, ty = half_pixel_taps(h, oh)
    f = image.astype(np.float64)
    rows = f[y0] * (1 - ty)[:, None, None] + f[y1] * ty[:, None, None]
    out = rows[:, x0] * (1 - tx)[None, :, None] + rows[:, x1] * tx[None, :, None]
    write_f32(task['outputFormula'], out.transpose(2, 0, 1))
    return {}


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    import cv2
    for task in job['tasks']:
        result = decode(task) if task['op'] == 'decode' else resize(task, cv2)
        print(json.dumps(result))
    print(json.dumps({'numpy': np.__version__, 'cv2': cv2.__version__}))


if __name__ == '__main__':
    main()
