"""Independent DeepLabV3 reference for test/parity/deeplab-opencv.test.ts (Debian's python3, OpenCV DNN, numpy).

Reads a JSON job (argv[1]) of tasks, each naming raw files written by the test:
  rgb (uint8 HxWx3), ourInput (float32 1x257x257x3 NHWC), ourLogits (float32 1x257x257xC, onnxruntime-node),
and writes, for each task:
  cvLogitsSame     OpenCV DNN logits for OUR input tensor (network parity, float32)
  cvLabelsUpstream the original project's whole chain in OpenCV: cv2.resize INTER_LINEAR of the uint8 RGB image to
                   257x257, /127.5 - 1, OpenCV DNN, cv2.resize INTER_LINEAR of the logits to the image size, argmax
  refLabels        cv2.resize INTER_LINEAR + numpy argmax of OUR logits (post-processing parity, uint8)
  refInput         float64 formula of the preprocessing (half-pixel bilinear, no rounding to bytes), as float32
Prints one JSON line with the library versions.

OpenCV 4.6 cannot import the file as is: its ONNX importer rejects Upsample mode "linear" (opset 9), expecting the
name "bilinear" for the same operation. The graph is loaded from memory with that attribute renamed; nothing else
changes. OpenCV's bilinear Resize with neither align_corners nor half_pixel_centers is ONNX Upsample's asymmetric
mapping (source = destination * in / out), which is what "linear" means at opset 9.
"""
import json
import sys

import cv2
import numpy as np
import onnx


def load_net(model_path):
    model = onnx.load(model_path)
    renamed = 0
    for node in model.graph.node:
        if node.op_type == 'Upsample':
            for attribute in node.attribute:
                if attribute.name == 'mode' and attribute.s == b'linear':
                    attribute.s = b'bilinear'
                    renamed += 1
    if renamed == 0:
        raise SystemExit('no Upsample "linear" node found: the graph is not the expected one')
    return cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), np.uint8))


def forward(net, nhwc):
    net.setInput(np.ascontiguousarray(nhwc, dtype=np.float32))
    return net.forward()


def bilinear_taps(src, dst):
    x = np.maximum((np.arange(dst, dtype=np.float64) + 0.5) * src / dst - 0.5, 0.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), src - 1)
    x1 = np.minimum(x0 + 1, src - 1)
    t = np.clip(x - x0, 0.0, 1.0)
    return x0, x1, t


def formula_input(rgb, width, height):
    h0, w0, _ = rgb.shape
    img = rgb.astype(np.float64)
    x0, x1, tx = bilinear_taps(w0, width)
    y0, y1, ty = bilinear_taps(h0, height)
    rows = img[y0] * (1 - ty)[:, None, None] + img[y1] * ty[:, None, None]
    out = rows[:, x0] * (1 - tx)[None, :, None] + rows[:, x1] * tx[None, :, None]
    return (out / 127.5 - 1.0).astype(np.float32)[None]


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    net = load_net(job['model'])
    size = job['netSize']
    for task in job['tasks']:
        w, h, classes = task['width'], task['height'], task['classes']
        rgb = np.fromfile(task['rgb'], np.uint8).reshape(h, w, 3)
        ours_in = np.fromfile(task['ourInput'], np.float32).reshape(1, size, size, 3)
        ours_logits = np.fromfile(task['ourLogits'], np.float32).reshape(size, size, classes)

        forward(net, ours_in)[0].astype(np.float32).tofile(task['cvLogitsSame'])

        upstream_in = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1.0
        upstream_logits = forward(net, upstream_in[None])[0]
        up = cv2.resize(upstream_logits, (w, h), interpolation=cv2.INTER_LINEAR)
        np.argmax(up, axis=-1).astype(np.uint8).tofile(task['cvLabelsUpstream'])

        ref = cv2.resize(ours_logits, (w, h), interpolation=cv2.INTER_LINEAR)
        np.argmax(ref, axis=-1).astype(np.uint8).tofile(task['refLabels'])

        formula_input(rgb, size, size).tofile(task['refInput'])
    print(json.dumps({'cv2': cv2.__version__, 'numpy': np.__version__, 'onnx': onnx.__version__}))


if __name__ == '__main__':
    main()
