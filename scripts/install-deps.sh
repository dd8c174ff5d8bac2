#!/usr/bin/env bash
# Installs everything hxrt needs to build and test on Debian 12 (bookworm).
# Idempotent; uses sudo when not run as root.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev                                   # CPU plugin (oneDNN)
  libonnx-dev libprotobuf-dev protobuf-compiler # ONNX import
  libboost-dev libboost-filesystem-dev          # Boost.DLL plugin loading
  libfmt-dev nlohmann-json3-dev libcli11-dev    # formatting, JSON, command lines
  libgtest-dev libgmock-dev libbenchmark-dev    # tests and benchmarks
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers  # Vulkan plugin, lavapipe
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd                # OpenCL plugin, PoCL
  python3
)
# Node.js runs the onnxruntime peer benchmark; a machine may already have its own build.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
