#!/usr/bin/env bash
# Installs every Debian package elit needs (only the missing ones) and builds the project.
# Idempotent: a second run installs nothing and rebuilds incrementally (ccache + ninja).
#   scripts/setup.sh [--no-build] [extra cmake args...]
#   ELIT_BUILD_TARGETS="elit_cli" scripts/setup.sh    builds only those targets (the main job
#                                                      builds the command-line tool alone)
# ELIT_WITH_TEST_DEPS=1 (scripts/test.sh sets it) also installs what only the tests need.
# ELIT_WITH_PUBLISHED_BENCH=1 also installs Debian's python3-torch for bench/published/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev          # libtorch 1.13 (CPU): the only hard dependency of the core library
  libopenblas0-openmp   # a real BLAS for libtorch's float32 matmul (the reference BLAS is ~50x slower)
  libgloo-dev           # c10d ProcessGroupGloo headers for distributed training
  zlib1g-dev            # deflate for .npz files
  nlohmann-json3-dev libstb-dev libyaml-cpp-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist # the default dataset: /usr/share/datasets/fashion-mnist
)
if [ "${ELIT_WITH_TEST_DEPS:-0}" = 1 ]; then
  packages+=(chromium)  # headless browser for the web page test (ctest -L browser)
  packages+=(python3)   # the experiment scripts' reports (standard library only; Experiments.*.Quick)
fi
if [ "${ELIT_WITH_PUBLISHED_BENCH:-0}" = 1 ]; then
  # Debian's torch 1.13 for /usr/bin/python3 (the libtorch elit links), to run the published
  # ELIT code beside elit (bench/published/, scripts/compare_published.sh); torchvision for the
  # timm and loss.py it imports.
  packages+=(python3-torch python3-numpy python3-torchvision)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--no-build" ]; then exit 0; fi

build_dir="${ELIT_BUILD_DIR:-build}"
jobs="${ELIT_JOBS:-$(nproc)}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
# shellcheck disable=SC2086  # a space-separated list of targets
cmake --build "$build_dir" -j "$jobs" ${ELIT_BUILD_TARGETS:+--target $ELIT_BUILD_TARGETS}
echo "[setup] built into $build_dir/ (elit: $build_dir/elit)"
