#!/usr/bin/env bash
# Per-step GPU times of ResNet-50 in hxrt (HXRT_CUDA_PROFILE=1) and each
# convolution's timed candidates (HXRT_CUDA_CONV_LOG=1), on a GPU machine.
#   OUT=dir tools/bench-cuda/profile.sh [config ...]   config: b32_f32 b32_f16 b1_f32 ... [:options]
# e.g. b32_f32 b32_f32:channels_last=1 b32_f16. Models are exported with
# torchvision (random weights) into $OUT/prof; logs land next to them.
set -uo pipefail
out=${OUT:-/tmp/hxrt-cuda-check}/prof
mkdir -p "$out"
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(b32_f32 b32_f16)
for c in "${configs[@]}"; do
  m=${c%%:*}
  [ -f "$out/resnet50_$m.onnx" ] && continue
  python3 - "$m" "$out/resnet50_$m.onnx" <<'PY' 2>&1 | grep -v -i warn
import sys, torch, torchvision
tag, path = sys.argv[1], sys.argv[2]
b, t = tag.split("_")
dt = torch.float16 if t == "f16" else torch.float32
model = torchvision.models.resnet50(weights=None).eval().to("cuda", dt)
x = torch.randn(int(b[1:]), 3, 224, 224, device="cuda", dtype=dt)
torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False, input_names=["x"], output_names=["y"])
print("exported", path)
PY
done
for c in "${configs[@]}"; do
  m=${c%%:*}
  opts=""
  [ "$c" != "$m" ] && opts=${c#*:}
  log="$out/$(echo "$c" | tr ':=;' '___').log"
  HXRT_CUDA_PROFILE=1 HXRT_CUDA_CONV_LOG=1 timeout 240 hxrt-bench-cuda "$out/resnet50_$m.onnx" --iterations 30 \
    --warmup 3 --options "$opts" >"$log" 2>&1
  echo "== $c: $(grep -E 'latency median' "$log")"
  python3 - "$log" <<'PY'
import re, sys, collections
steps, by = [], collections.Counter()
for line in open(sys.argv[1]):
    m = re.match(r"\[hxrt cuda profile\]\s+([\d.]+) ms\s+step \d+\s+(.*)", line)
    if m:
        ms, name = float(m.group(1)), m.group(2)
        kind = re.sub(r"node \d+ \(([^)]*)\)( '[^']*')?", r"\1", name)
        steps.append((ms, name)); by[kind] += ms
total = sum(ms for ms, _ in steps)
print(f"  {len(steps)} steps, GPU total {total:.3f} ms")
for kind, ms in by.most_common(8):
    print(f"  {ms:8.3f} ms  {kind}")
PY
done
