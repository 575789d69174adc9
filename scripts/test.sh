#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite with CTest.
#   scripts/test.sh            all tests
#   scripts/test.sh -L fast    only the quick unit tests
set -euo pipefail
cd "$(dirname "$0")/.."
ELIT_WITH_TEST_DEPS=1 scripts/setup.sh
ctest --test-dir "${ELIT_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
