#!/usr/bin/env bash
# The demo: install dependencies, build, then run ResNet-50 (ONNX) across the
# devices this machine has, checking its output against the expected one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DHXRT_BUILD_TESTS=OFF
data=${HXRT_SHARED_DATA:-$(pwd)/../shared/data}
light=$data/onnx-light/onnx/backend/test/data/light
echo; echo "== hxrt-info: plugins and devices"
build/bin/hxrt-info
echo; echo "== hxrt-run: light_resnet50 across the available devices"
build/bin/hxrt-run "$light/light_resnet50.onnx" --test-data "$light/light_resnet50_output_0.pb" \
  --iterations 5 --warmup 1
echo; echo "== the C sample: the same model through hxrt.h"
build/bin/hxrt-sample-c "$light/light_squeezenet.onnx"
