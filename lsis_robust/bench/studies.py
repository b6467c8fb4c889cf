"""Measure the issue's speed targets for the full studies and print the numbers.

    python -m lsis_robust.bench.studies [--which estimator|paper|all] [--n-jobs 2] [--device cpu|cuda]

estimator: full robustness (one beta, 8 methods, 402 problems, n = 10^4; target < 60 s) and full efficiency
(9 betas x 6 sizes x 100 trials x 8 methods; target < 120 s).
paper: the fused-Adam rate (ns per element update) measured on one robustness cell (all 30 starts x 402 problems
of MLSLR a=0.8, n = 10^4) and one efficiency cell, extrapolated to the full studies (targets 15 and 5 minutes);
``--full-paper`` runs the full paper-protocol studies instead of extrapolating.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .._validation import int_at_least


def _estimator(n_jobs):
    from ..studies.efficiency import run_efficiency
    from ..studies.robustness import run_robustness

    _, t_rob = run_robustness(betas=[(0.0, 4.0)], n_jobs=n_jobs, progress=False)
    _, t_eff = run_efficiency(n_jobs=n_jobs, progress=False)
    return {"robustness_estimator_s": round(t_rob, 1), "robustness_target_s": 60,
            "efficiency_estimator_s": round(t_eff, 1), "efficiency_target_s": 120}


def _paper(device, full, n_jobs):
    from ..studies._grid import seed_sequence
    from ..studies.efficiency import efficiency_grid, efficiency_task, run_efficiency
    from ..studies.robustness import robustness_grid, robustness_task, run_robustness

    out = {}
    if full:
        _, t = run_robustness(betas=[(0.0, 4.0)], protocol="paper", device=device, n_jobs=n_jobs, progress=False)
        out["robustness_paper_s"] = round(t, 1)
        _, t = run_efficiency(protocol="paper", device=device, n_jobs=n_jobs, progress=False)
        out["efficiency_paper_s"] = round(t, 1)
        return out
    # One cell of each study, timed after a first (compiling) call.
    task = robustness_grid(betas=[(0.0, 4.0)], methods=["mlslr:alpha=0.8"], protocol="paper", device=device)[0]
    robustness_task(task.params, seed_sequence(0, task.seed_key))
    t0 = time.perf_counter()
    robustness_task(task.params, seed_sequence(0, task.seed_key))
    t = time.perf_counter() - t0
    updates = 402 * 30 * 10_000 * 150
    ns = t / updates * 1e9
    total = 402 * 10_000 * 150 * (7 * 30 + 1)  # 7 multi-start methods + LR from the truth
    out.update(robustness_cell_s=round(t, 1), ns_per_update=round(ns, 2),
               robustness_paper_extrapolated_s=round(ns * total * 1e-9, 0), robustness_target_s=900)
    etasks = efficiency_grid(betas=[(0.0, 4.0)], sizes=[800], methods=["mlslr:alpha=0.8"], protocol="paper",
                             device=device)
    efficiency_task(etasks[0].params, seed_sequence(0, etasks[0].seed_key))
    t0 = time.perf_counter()
    efficiency_task(etasks[0].params, seed_sequence(0, etasks[0].seed_key))
    t = time.perf_counter() - t0
    ns_e = t / (100 * 30 * 800 * 150) * 1e9
    total_e = 9 * 100 * 150 * sum((25, 50, 100, 200, 400, 800)) * (7 * 30 + 1)
    out.update(efficiency_cell_s=round(t, 1), efficiency_ns_per_update=round(ns_e, 2),
               efficiency_paper_extrapolated_s=round(ns_e * total_e * 1e-9, 0), efficiency_target_s=300)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m lsis_robust.bench.studies", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--which", choices=("estimator", "paper", "all"), default="all")
    ap.add_argument("--n-jobs", type=int_at_least(1), default=2)
    ap.add_argument("--device", default=None)
    ap.add_argument("--full-paper", action="store_true")
    args = ap.parse_args(argv)
    res = {}
    if args.which in ("estimator", "all"):
        res.update(_estimator(args.n_jobs))
    if args.which in ("paper", "all"):
        res.update(_paper(args.device, args.full_paper, args.n_jobs))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
