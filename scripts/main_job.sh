#!/usr/bin/env bash
# The main job (README command one): set up, then run the end-to-end Fashion-MNIST story.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/elit --help
