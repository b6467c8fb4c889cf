#!/usr/bin/env bash
# CI's asv step: the suite imports and is well formed (asv check), and the fast benchmarks run once without
# failing, in the project's own environment.  asv run exits 2 when any benchmark fails; skips (no CUDA, no
# CIFAR-10) are not failures.
set -euo pipefail
EXTRAS=all
source "$(dirname "$0")/_venv.sh"

# asv run needs a machine description and writes it to results/asv/ci/ even when it saves no results; a fixed
# name keeps it apart from real machines' results, and it is removed again so the checkout stays clean.
asv machine --yes --machine ci >/dev/null
trap 'rm -rf results/asv/ci' EXIT
asv check -E existing

# The fast subset is everything but the slow benchmarks named here, so that a new benchmark is checked by
# default.  asv matches -b against "name(param, ...)", hence the n = 10^5 fits can be singled out.
SLOW=(
  'bench_estimators\.Fit\.time_fit\(.*, 100000, '
  'bench_estimators\.FitMemory\.'
  'bench_theory\.ExactFig4Grid\.'
  'bench_nn\.DigitsTTR\.'
  'bench_studies\.FullEstimatorStudies\.'
  'bench_studies\.RobustnessCommand\.time_robustness_command\(.default'
  'bench_theory\.TheoryFiguresFig4Command\.'
  'bench_estimators\.Shapes\.time_fit\(.*, 100000, '
  'bench_starts\.StartsMiss\.'
)
slow_regex=$(IFS='|'; echo "${SLOW[*]}")
# forkserver, not the configured spawn: CI has no GPU, and forking one interpreter that has the suite imported
# saves seconds of start-up per benchmark, which is most of a quick run.
asv run --quick -E existing --machine ci --launch-method forkserver --show-stderr -b "^(?!${slow_regex})"
