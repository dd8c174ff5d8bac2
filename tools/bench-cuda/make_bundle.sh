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
# it, and NVIDIA's Vulkan driver (libGLX_nvidia) needs glvnd installed: carry
# Debian's packages; device_check.sh unpacks them into / on the GPU machine
# (copying the libraries into lib/ was not enough for the NVIDIA ICD).
mkdir -p "$bundle/gl" /tmp/hxrt-apt-lists/partial
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/hxrt-apt-lists)
apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || true
(cd "$bundle/gl" && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
  >/dev/null 2>&1) || echo "make_bundle: could not download the Vulkan loader packages; Vulkan will be missing" >&2
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
