#!/usr/bin/env bash
# Everything the CUDA plugin is checked with on a GPU machine, in one go:
#   1. the plugin's gtest suite (ABI + ops vs double references),
#   2. the 9 ONNX light models through hxrt-run (cuda + cpu fallback) vs expected outputs,
#   3. the ONNX backend node tests on the CUDA plugin alone,
#   4. (optional, BENCH=1) the PyTorch comparison benchmarks.
# Expects a device bundle (../shared/tools/device-bundle) at $BUNDLE (default .devbundle)
# with the plugins in $BUNDLE/plugins and test data in $BUNDLE/data/{light,node}.
# Writes logs to $OUT (default /tmp/hxrt-cuda-check).
set -uo pipefail
bundle=${BUNDLE:-.devbundle}
out=${OUT:-/tmp/hxrt-cuda-check}
mkdir -p "$out"
[ -f "$bundle/big-libs.tar.xz" ] && tar xJf "$bundle/big-libs.tar.xz" -C "$bundle/lib"
# The Vulkan loader and glvnd (make_bundle.sh carries Debian's packages).
if ls "$bundle"/gl/*.deb >/dev/null 2>&1 && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$bundle"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
source "$bundle/env.sh"
# cuDNN / cuBLAS: the toolkit's if the loader finds them, else PyTorch's wheels.
if ldd "$bundle/plugins/libhxrt_cuda.so" | grep -q 'not found'; then
  nv=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
  for lib in libcudnn.so.9 libcublasLt.so.13 libcudart.so.13; do
    d=$(find "$nv" -name "$lib" 2>/dev/null | head -1)
    [ -n "$d" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$d")"
  done
fi
ldd "$bundle/plugins/libhxrt_cuda.so" | grep -E 'cudnn|cublas|cudart|not found' | tee "$out/ldd.txt"
export HXRT_PLUGIN_PATH=$(cd "$bundle/plugins" && pwd) HXRT_PLUGIN_DIR=$(cd "$bundle/plugins" && pwd)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv >"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
status=0
if [ "${SKIP_CHECKS:-0}" != 1 ]; then
echo "== gtest"
cuda_plugin_test --gtest_output=xml:"$out/gtest.xml" >"$out/gtest.log" 2>&1 || status=1
grep -E '^\[  (PASSED|FAILED|  SKIPPED) |^\[  FAILED  \]|Failure|error' "$out/gtest.log" | head -40
tail -3 "$out/gtest.log"
[ "${SKIP_LIGHT:-0}" = 1 ] || echo "== light models"
[ "${SKIP_LIGHT:-0}" = 1 ] || for m in "$bundle"/data/light/*.onnx; do
  b=${m%.onnx}
  if timeout "${LIGHT_TIMEOUT:-300}" hxrt-run "$m" --test-data "${b}_output_0.pb" --devices cuda,cpu --placement >"$out/$(basename "$b").log" 2>&1; then
    echo "PASS $(basename "$b") $(grep -o 'max abs err [^,]*' "$out/$(basename "$b").log"), nodes on cuda $(grep -c -- '-> cuda' "$out/$(basename "$b").log"), on cpu $(grep -c -- '-> cpu' "$out/$(basename "$b").log")"
  else
    echo "FAIL $(basename "$b")"; tail -5 "$out/$(basename "$b").log"; status=1
  fi
done
if [ "${QUICK_CHECKS:-0}" != 1 ]; then  # QUICK_CHECKS=1: gtest and light models only
if [ "${SKIP_NODE_TESTS:-0}" != 1 ]; then
  echo "== node tests"
  tools/bench-cuda/run_node_tests.sh "$bundle/data/node" "$out/node" 16 || status=1
fi
if command -v hxrt-conformance >/dev/null; then
  echo "== conformance (full profile)"
  timeout "${CONFORMANCE_TIMEOUT:-300}" hxrt-conformance --plugin "$bundle/plugins/libhxrt_cuda.so" --profile full \
    --onnx-tests "$bundle/data/node" --junit "$out/conformance.xml" --json "$out/conformance.json" >"$out/conformance.log" 2>&1 || status=1
  tail -25 "$out/conformance.log"
fi
fi  # QUICK_CHECKS
fi  # SKIP_CHECKS
if [ "${QUICK_BENCH:-0}" = 1 ]; then
  echo "== quick bench (light_resnet50)"
  for mode in graph nodes; do
    hxrt-bench-cuda "$bundle/data/light/light_resnet50.onnx" --mode $mode --iterations 50 --warmup 5 2>&1 | tail -3
  done
fi
if [ -n "${PROFILE:-}" ]; then  # e.g. PROFILE="b32_f32 b32_f16": per-step GPU times and conv candidates
  echo "== profile"
  OUT=$out tools/bench-cuda/profile.sh $PROFILE
fi
if [ "${BENCH:-0}" = 1 ]; then
  echo "== benchmarks"
  PYTHONUNBUFFERED=1 python3 tools/bench-cuda/bench_torch.py --out "$out/bench" ${BENCH_ARGS:-} 2>&1 | tee "$out/bench.log" | grep -v -i warn
  cp "$out/bench/results.json" "$out/bench-results.json" 2>/dev/null
fi
exit $status
