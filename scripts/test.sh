#!/usr/bin/env bash
# Sets up a fresh machine for the test suite and runs it (the README's test command; .ci/run calls it).
# - Debian packages: python3-opencv, python3-numpy, python3-onnx, python3-skimage are the independent references the parity
#   tests compare against (OpenCV's INTER_CUBIC, numpy's .npy reader, scikit-image's SSIM); colmap (3.8, CPU) reads and checks our
#   COLMAP exports; ffmpeg decodes video; chromium (headless, SwiftShader WebGL2) runs Spark, the independent
#   splat renderer test/interop/splat-spark.test.ts compares ours with.
# - npm packages from package-lock.json; onnxruntime-node's CUDA download is skipped (see .npmrc).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in python3-opencv python3-numpy python3-onnx python3-skimage colmap ffmpeg chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "Missing Debian packages: ${need_apt[*]} (install them with sudo apt-get install)" >&2
    exit 1
  fi
fi

export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npx tsc -p tsconfig.json --noEmit
npm run --silent test:fixtures
npm test
