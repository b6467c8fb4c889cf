#!/usr/bin/env bash
# Publish the asv history (results/asv/<machine>/) as results/asv/html/, a site that needs no network: opened
# from disk or served by `asv preview`.  Arguments go to `python -m lsis_robust.bench.asv_publish` (e.g.
# --html-dir DIR).
set -euo pipefail
EXTRAS=bench
source "$(dirname "$0")/_venv.sh"
python -m lsis_robust.bench.asv_publish "$@"
