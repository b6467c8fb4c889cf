#!/usr/bin/env bash
# Adds this machine's points to the committed asv history: the last N first-parent commits of main (asv graphs
# a branch along its first parents), each built into asv's virtualenv, quick (one sample), on the subset below.
#   bash scripts/asv_history.sh MACHINE [N]      # MACHINE registered first: asv machine --machine MACHINE --yes
# Commits that already have results on MACHINE are skipped, so a later call adds only the new ones.  asv publish
# hides a benchmark's results made before its code changed (asv keeps a hash of each benchmark's source):
# after such a change, RERUN=1 runs every commit again.
set -euo pipefail
MACHINE=${1:?usage: bash scripts/asv_history.sh MACHINE [N]}
N=${2:-22}
EXTRAS=bench
source "$(dirname "$0")/_venv.sh"

# Cheap benchmarks that run on every commit of the history (asv runs today's suite against each commit's
# package): Table I's time and worst deviation, one contaminated functional per loss, the LR and CH fits at
# n = 1e4, d = 10, and the robustbase agreement tracks on the synthetic sample.
SUBSET='^bench_theory\.(TableI|ContaminatedFunctional)\.'
SUBSET+='|^bench_estimators\.Fit\.time_fit\(.(lr|ch)., 10000, 10\)'
SUBSET+='|^bench_estimators\.Robustbase\..*\(.synthetic.\)'

hashes=$(mktemp)
trap 'rm -f "$hashes"' EXIT
git rev-list --first-parent -n "$N" main > "$hashes"
# forkserver: this subset needs no CUDA, and forking one interpreter saves seconds per benchmark
skip=(--skip-existing-commits)
[ "${RERUN:-0}" = 1 ] && skip=()
nice -n 19 asv run --quick --machine "$MACHINE" --launch-method forkserver "${skip[@]}" \
  -b "$SUBSET" "HASHFILE:$hashes"
