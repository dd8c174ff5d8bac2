#!/usr/bin/env bash
# Runs the ONNX backend node tests on the CUDA plugin alone (hxrt-run --devices cuda:
# every node, constant folding included, runs on the GPU). Each test is PASS (outputs
# match), FAIL (outputs differ), UNSUPPORTED (the plugin claims not every node, or a
# shape input cannot be folded without the unclaimed ones), IMPORT (the host cannot
# import the model) or ERROR (anything else). Prints a summary; exit 1 on FAIL/ERROR.
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
  timeout 120 hxrt-run "$dir/model.onnx" --test-data "$dir/test_data_set_0" --devices cuda >"$log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then echo "PASS $name"
  elif [ $rc -eq 1 ]; then echo "FAIL $name: $(grep -m1 FAIL "$log")"
  elif grep -q -e "unsupported element type" -e "only dense tensors" "$log"; then echo "IMPORT $name"
  elif grep -q -e "no device supports" -e "not a compile-time constant" "$log"; then echo "UNSUPPORTED $name"
  else echo "ERROR $name (rc $rc): $(tail -c 300 "$log" | tr '\n' ' ')"; fi
}
export -f one
ls -d "$node_dir"/*/ | sed 's:/$::' | xargs -P "$jobs" -I{} bash -c 'one "$@"' _ {} "$out" | sort >"$out/summary.txt"
for k in PASS UNSUPPORTED IMPORT FAIL ERROR; do printf '%s %s\n' "$k" "$(grep -c "^$k " "$out/summary.txt")"; done
grep -E '^(FAIL|ERROR) ' "$out/summary.txt" | head -80
! grep -qE '^(FAIL|ERROR) ' "$out/summary.txt"
