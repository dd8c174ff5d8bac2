#!/usr/bin/env bash
# Gathers what tools/bench-cuda/device_check.sh needs on a GPU machine into one
# folder (default .devbundle, git-ignored): the tools and tests from BUILD
# (default build-cuda) with their libraries, the plugins in BUNDLE/plugins, and
# the light models and node tests in BUNDLE/data. Debug info is stripped so
# the bundle stays small enough to travel.
set -euo pipefail
build=${BUILD:-build-cuda}
bundle=${1:-.devbundle}
data=${HXRT_SHARED_DATA:-../shared/data}
rm -rf "$bundle"
bins=()
for b in hxrt-run hxrt-info hxrt-bench-cuda hxrt-executor-bench cuda_plugin_test hxrt-conformance; do
  [ -x "$build/bin/$b" ] && bins+=("$build/bin/$b")
done
../shared/tools/device-bundle "$bundle" "$build/lib/hxrt/plugins" "${bins[@]}"
# The Vulkan plugin opens the loader at run time, so the bundler does not see
# it; NVIDIA's Vulkan driver (libGLX_nvidia) needs glvnd's libraries beside it.
for lib in libvulkan.so.1 libGLX.so.0 libGLdispatch.so.0; do
  path=$(ldconfig -p | awk -v lib="$lib" '$1 == lib && /x86-64/ {print $NF; exit}')
  [ -n "$path" ] && cp -L "$path" "$bundle/lib/"
done
mkdir -p "$bundle/plugins" "$bundle/data"
mv "$bundle"/lib/libhxrt_*.so "$bundle/plugins/"
find "$bundle" -type f \( -name '*.so*' -o -perm -u+x \) -exec strip --strip-debug {} + 2>/dev/null || true
cp -r "$data/onnx-light/onnx/backend/test/data/light" "$bundle/data/light"
cp -r "$data/onnx-node/onnx/backend/test/data/node" "$bundle/data/node"
# Large libraries (oneDNN for the CPU plugin) travel compressed; device_check.sh unpacks them.
big=$(cd "$bundle/lib" && find . -maxdepth 1 -type f -size +16M -printf '%P\n')
if [ -n "$big" ]; then
  (cd "$bundle/lib" && tar cJf ../big-libs.tar.xz $big && rm -f $big)
fi
du -sh "$bundle"
