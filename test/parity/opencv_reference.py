#!/usr/bin/env python3
"""Independent reference for src/imaging and src/models/size-rule.ts (run with Debian's python3: cv2, numpy).

Usage: python3 opencv_reference.py JOB.json
JOB.json holds {"tasks": [...]}; every task names its op, its inputs and an output path, and this script
writes raw little-endian float32 (or JSON) there, so one process serves a whole test file.

Ops:
- "preprocess": the official Depth Anything V2 `infer_image` input chain on raw uint8 RGB HWC pixels:
  float64 /255.0, cv2.resize(INTER_CUBIC) to (outWidth, outHeight), (x - mean) / std in float64,
  HWC -> CHW, astype float32. Writes `output`; with `outputFloat32`, also the same chain run in float32
  (/255 in float32, cv2.resize on float32, normalise in float32).
- "cubic": cv2.resize(INTER_CUBIC) of a raw float32 HWC image (any channels) in float32; also float64 when
  `output64` is given (the input is widened to float64 first; the result is written as float32).
- "bilinear": bilinear resize of a raw float32 single-channel map, written from the formula in numpy
  (float64): align_corners=True -> x = d*(in-1)/(out-1); False -> x = max((d+0.5)*in/out - 0.5, 0);
  x0 = min(floor(x), in-1), x1 = min(x0+1, in-1), t = x - x0; rows first, then columns.
  `cv2Output` (alignCorners false only): cv2.resize INTER_LINEAR on the float32 map, an independent check.
- "sizes": network input sizes for a list of [width, height], transcribed from the official Python:
  Depth Anything `Resize(keep_aspect_ratio=True, ensure_multiple_of=m, resize_method='lower_bound')`
  and DA3 `upper_bound_resize`; plus Transformers.js's "minimal" rule (documentation only).
"""
import json
import sys

import numpy as np


def read_raw(path, dtype, shape):
    return np.fromfile(path, dtype=dtype).reshape(shape)


def write_f32(path, array):
    np.ascontiguousarray(array, dtype='<f4').tofile(path)


def preprocess(task, cv2):
    h, w = task['height'], task['width']
    rgb = read_raw(task['input'], np.uint8, (h, w, 3))
    size = (task['outWidth'], task['outHeight'])
    mean = np.array(task['mean'], dtype=np.float64)
    std = np.array(task['std'], dtype=np.float64)
    image = rgb / 255.0  # float64, as in Depth-Anything-V2 infer_image
    image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    image = (image - mean) / std
    write_f32(task['output'], np.transpose(image, (2, 0, 1)).astype(np.float32))
    if 'outputFloat32' in task:
        image32 = rgb.astype(np.float32) / np.float32(255)
        image32 = cv2.resize(image32, size, interpolation=cv2.INTER_CUBIC)
        image32 = (image32 - mean.astype(np.float32)) / std.astype(np.float32)
        write_f32(task['outputFloat32'], np.transpose(image32, (2, 0, 1)))


def cubic(task, cv2):
    h, w, c = task['height'], task['width'], task['channels']
    image = read_raw(task['input'], '<f4', (h, w, c))
    size = (task['outWidth'], task['outHeight'])
    write_f32(task['output'], cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))
    if 'output64' in task:
        write_f32(task['output64'], cv2.resize(image.astype(np.float64), size, interpolation=cv2.INTER_CUBIC))


def bilinear_axis(n_in, n_out, align_corners):
    d = np.arange(n_out, dtype=np.float64)
    if align_corners:
        x = d * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
    else:
        x = np.maximum((d + 0.5) * n_in / n_out - 0.5, 0.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), n_in - 1)
    x1 = np.minimum(x0 + 1, n_in - 1)
    return x0, x1, x - x0


def bilinear(task, cv2):
    h, w = task['height'], task['width']
    src = read_raw(task['input'], '<f4', (h, w)).astype(np.float64)
    oh, ow = task['outHeight'], task['outWidth']
    align = bool(task['alignCorners'])
    y0, y1, ty = bilinear_axis(h, oh, align)
    x0, x1, tx = bilinear_axis(w, ow, align)
    rows = src[:, x0] * (1 - tx) + src[:, x1] * tx  # h x ow
    out = rows[y0, :] * (1 - ty)[:, None] + rows[y1, :] * ty[:, None]
    write_f32(task['output'], out)
    if 'cv2Output' in task:
        if align:
            raise ValueError('cv2 has no align_corners bilinear resize')
        write_f32(task['cv2Output'], cv2.resize(src.astype(np.float32), (ow, oh), interpolation=cv2.INTER_LINEAR))


def lower_bound_size(w, h, target, m):
    # Depth Anything Resize.get_size with keep_aspect_ratio=True, resize_method='lower_bound'.
    scale_height = target / h
    scale_width = target / w
    if scale_width > scale_height:
        scale_height = scale_width
    else:
        scale_width = scale_height

    def constrain(x, min_val):
        y = (np.round(x / m) * m).astype(int)
        if y < min_val:
            y = (np.ceil(x / m) * m).astype(int)
        return int(y)

    return constrain(scale_width * w, target), constrain(scale_height * h, target)


def upper_bound_size(w, h, target, m):
    # DA3 input_processor: _resize_longest_side, then _make_divisible_by_resize.
    longest = max(w, h)
    if longest != target:
        scale = target / float(longest)
        w, h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))

    def nearest_multiple(x, p):
        down = (x // p) * p
        up = down + p
        return up if abs(up - x) <= abs(x - down) else down

    return max(1, nearest_multiple(w, m)), max(1, nearest_multiple(h, m))


def minimal_size(w, h, target, m):
    # Transformers.js DPTImageProcessor / HF get_resize_output_image_size with keep_aspect_ratio: the scale
    # closer to 1 wins, then each side is rounded to a multiple (round half to even), no lower bound.
    scale_height = target / h
    scale_width = target / w
    if abs(1 - scale_width) < abs(1 - scale_height):
        scale_height = scale_width
    else:
        scale_width = scale_height
    return int(np.round(scale_width * w / m) * m), int(np.round(scale_height * h / m) * m)


def sizes(task, _cv2):
    target, m = task['target'], task['multipleOf']
    out = {'lowerBound': [], 'upperBound': [], 'minimal': []}
    for w, h in task['sizes']:
        out['lowerBound'].append(lower_bound_size(w, h, target, m))
        out['upperBound'].append(upper_bound_size(w, h, target, m))
        out['minimal'].append(minimal_size(w, h, target, m))
    with open(task['output'], 'w') as f:
        json.dump(out, f)


OPS = {'preprocess': preprocess, 'cubic': cubic, 'bilinear': bilinear, 'sizes': sizes}


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    needs_cv2 = any(t['op'] != 'sizes' for t in job['tasks'])
    cv2 = None
    if needs_cv2:
        import cv2  # noqa: PLC0415  (only the pixel ops need OpenCV)
        cv2.setNumThreads(1)
    for task in job['tasks']:
        OPS[task['op']](task, cv2)
    print(json.dumps({'numpy': np.__version__, 'cv2': cv2.__version__ if cv2 is not None else None}))


if __name__ == '__main__':
    main()
