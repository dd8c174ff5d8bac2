#!/usr/bin/env bash
# Runs the ONNX backend node tests with hxrt-run --devices cuda,cpu: the CUDA plugin
# takes every node it claims (GPU first), the CPU plugin folds constants and takes
# the rest. Each test is PASS (outputs match, >= 1 node ran on CUDA), CPU_ONLY (the
# CUDA plugin claimed nothing), FAIL (outputs differ) or ERROR (anything else; tests
# the host cannot import count as IMPORT). Prints a summary; exit 1 on FAIL/ERROR.
#
#   tools/bench-cuda/run_node_tests.sh NODE_DIR [OUT_DIR] [JOBS]
#   NODE_DIR: .../onnx/backend/test/data/node    (HXRT_PLUGIN_PATH must reach libhxrt_cuda.so)
set -uo pipefail
node_dir=${1:?node test folder}
out=${2:-/tmp/cuda-node-tests}
jobs=${3:-8}
mkdir -p "$out"
one() {
  local dir=$1 out=$2 name
  name=$(basename "$dir")
  local log="$out/$name.log"
  timeout 120 hxrt-run "$dir/model.onnx" --test-data "$dir/test_data_set_0" --devices cuda,cpu --placement >"$log" 2>&1
  local rc=$? on_cuda
  on_cuda=$(grep -c -- '-> cuda' "$log")
  if [ $rc -eq 0 ] && [ "$on_cuda" -gt 0 ]; then echo "PASS $name"
  elif [ $rc -eq 0 ]; then echo "CPU_ONLY $name"
  elif [ $rc -eq 1 ]; then echo "FAIL $name: $(grep -m1 FAIL "$log")"
  elif grep -q -e "unsupported element type" -e "only dense tensors" "$log"; then echo "IMPORT $name"
  else echo "ERROR $name (rc $rc): $(tail -c 300 "$log" | tr '\n' ' ')"; fi
}
export -f one
ls -d "$node_dir"/*/ | sed 's:/$::' | xargs -P "$jobs" -I{} bash -c 'one "$@"' _ {} "$out" | sort >"$out/summary.txt"
for k in PASS CPU_ONLY IMPORT FAIL ERROR; do printf '%s %s\n' "$k" "$(grep -c "^$k " "$out/summary.txt")"; done
grep -E '^(FAIL|ERROR) ' "$out/summary.txt" | head -80
! grep -qE '^(FAIL|ERROR) ' "$out/summary.txt"
