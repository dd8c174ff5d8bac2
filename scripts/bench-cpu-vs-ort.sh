#!/usr/bin/env bash
# Latency of one model through hxrt-run (CPU plugin) and onnxruntime (CPU),
# both with 2 threads, measured back to back in one invocation; prints the ratio.
#   scripts/bench-cpu-vs-ort.sh [MODEL.onnx] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${HXRT_SHARED_DATA:-$(pwd)/../shared/data}
model=${1:-$data/onnx-light/onnx/backend/test/data/light/light_resnet50.onnx}
iterations=${2:-50}
[ -d tools/ort-peer/node_modules/onnxruntime-node ] || (cd tools/ort-peer && ONNXRUNTIME_NODE_INSTALL=skip npm ci --silent)
export OMP_NUM_THREADS=2  # the CPU plugin's default is every core; this machine class has 2
build/bin/hxrt-run "$model" --warmup 5 --iterations "$iterations" --json build/bench-hxrt.json >/dev/null
node tools/ort-peer/ort-latency.js "$model" --threads 2 --warmup 5 --iterations "$iterations" --json > build/bench-ort.json
python3 - <<'PY'
import json
h = json.load(open("build/bench-hxrt.json")); o = json.load(open("build/bench-ort.json"))
print(f"model: {h['model']}")
print(f"hxrt        median {h['median_ms']:.2f} ms  mean {h['mean_ms']:.2f} ms  p90 {h['p90_ms']:.2f} ms  ({h['iterations']} runs)")
print(f"onnxruntime median {o['median_ms']:.2f} ms  mean {o['mean_ms']:.2f} ms  p90 {o['p90_ms']:.2f} ms  ({o['iterations']} runs, {o['ort_version']})")
print(f"ratio hxrt/onnxruntime (median): {h['median_ms']/o['median_ms']:.2f}")
PY
