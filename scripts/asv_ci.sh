#!/usr/bin/env bash
# CI's asv step: the suite imports and is well formed (asv check), and the fast benchmarks run once without
# failing, in the project's own environment.  asv run exits 2 when any benchmark fails; skips (no CUDA, no
# CIFAR-10) are not failures.
set -euo pipefail
EXTRAS=all
source "$(dirname "$0")/_venv.sh"

# Results need a machine description; a fixed name keeps CI's from mixing with a developer's machine file.
asv machine --yes --machine ci >/dev/null
asv check -E existing

# The fast subset: everything except the large fits, the full deep-net trainings and the long studies.
# forkserver, not the configured spawn: CI has no GPU, and forking one interpreter that has the suite imported
# saves seconds of start-up per benchmark, which is most of a quick run.
FAST=(
  'bench_estimators\.Fit\.time_fit\(.*, 10000, '
  'bench_estimators\.Robustbase\.'
)
bench_args=()
for pattern in "${FAST[@]}"; do bench_args+=(-b "$pattern"); done
asv run --quick -E existing --machine ci --launch-method forkserver --show-stderr "${bench_args[@]}"
