#!/usr/bin/env bash
# Installs dependencies, builds everything with tests, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DHXRT_BUILD_TESTS=ON
export HXRT_SHARED_DATA=${HXRT_SHARED_DATA:-$(pwd)/../shared/data}
export HXRT_PLUGIN_DIR=${HXRT_PLUGIN_DIR:-$(pwd)/build/lib/hxrt/plugins}
# Tests place by the plugins' estimates, never by measurements left on this machine.
export HXRT_PERF_MODEL=none
# Writable caches for Mesa's shader cache and PoCL's kernel cache.
export MESA_SHADER_CACHE_DIR=${MESA_SHADER_CACHE_DIR:-$(pwd)/build/cache/mesa}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$(pwd)/build/cache/pocl}
mkdir -p "$MESA_SHADER_CACHE_DIR" "$POCL_CACHE_DIR"
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 900 --output-junit ctest-junit.xml
