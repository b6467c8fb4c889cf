"""Theory sub-commands: ``lsis-robust are`` (Table I) and ``lsis-robust theory-figures``."""
from __future__ import annotations

import argparse

DEFAULT_OUT = "results/theory"
FIGURES = ("fig3", "fig5", "influence", "fig4")


def _beta(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"beta must be comma-separated numbers like '0,4', got {text!r}") from None
    if len(values) < 1:
        raise argparse.ArgumentTypeError("beta needs at least one number")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "are", help="Table I: asymptotic relative efficiency tr(C_LR)/tr(C) (Markdown, CSV, LaTeX)",
        description="Asymptotic relative efficiency of MLSLR (each alpha), LSQLR and extra losses against LR "
                    "under the paper's design (20), by error-controlled quadrature.")
    p.add_argument("--beta", type=_beta, action="append", metavar="B1,B2",
                   help="a row's true beta (intercept first); repeat for several rows (default: Table I's 9)")
    p.add_argument("--alpha", type=float, nargs="+", default=None, metavar="A",
                   help="MLSLR smoothing levels in [0, 1) (default: 0.2 0.4 0.6 0.8)")
    p.add_argument("--extra", nargs="*", default=["by", "ch"], metavar="LOSS",
                   help="extra loss columns as 'name' or 'name:param=value' (default: by ch)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    p.set_defaults(func=_run_are)

    f = subparsers.add_parser(
        "theory-figures", help="Fig. 3, Fig. 5, influence functions and the exact Fig. 4 (PNG + tables)",
        description="Population figures of the theory engine.")
    f.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES), help="figures to make (default: all)")
    f.add_argument("--beta", type=_beta, default=(0.0, 4.0), metavar="B1,B2",
                   help="true beta for the influence and Fig. 4 panels (default: 0,4)")
    f.add_argument("--eps", type=float, default=0.05, help="contamination share for Fig. 4 (default: 0.05)")
    f.add_argument("--points", type=int, default=201, help="x_c2 grid points on [-10, 10] (default: 201)")
    f.add_argument("--n-jobs", type=int, default=2, help="processes for the Fig. 4 grid (default: 2)")
    f.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    f.set_defaults(func=_run_figures)


def _run_are(args) -> int:
    from ..theory.asymptotics import TABLE1_ALPHAS
    from ..theory.outputs import write_table1

    alphas = TABLE1_ALPHAS if args.alpha is None else tuple(args.alpha)
    values, errors, paths = write_table1(args.out, args.beta, alphas, tuple(args.extra))
    print(values.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"max estimated integration error {errors.values.max():.1e}; wrote {', '.join(map(str, paths.values()))}")
    return 0


def _run_figures(args) -> int:
    from pathlib import Path

    import numpy as np

    from ..theory import outputs

    if args.points < 2:
        raise ValueError(f"--points must be at least 2, got {args.points}")
    if args.n_jobs < 1:
        raise ValueError(f"--n-jobs must be at least 1, got {args.n_jobs}")
    if not 0 <= args.eps < 1:
        raise ValueError(f"--eps must lie in [0, 1) (the contaminated share of F_eps), got {args.eps}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x2 = np.round(np.linspace(-10, 10, args.points), 10)
    done = []
    if "fig3" in args.only:
        done.append(outputs.plot_rho_transforms(out / "fig3_rho_transforms.png"))
    if "fig5" in args.only:
        done.append(outputs.plot_r_logit_range(out / "fig5_r_logit_range.png"))
    if "influence" in args.only:
        done.append(outputs.plot_influence(out / f"influence_b{args.beta[0]:g}_{args.beta[1]:g}.png", args.beta, x2))
    if "fig4" in args.only:
        outputs.write_exact_fig4(out, args.beta, args.eps, x2, n_jobs=args.n_jobs)
        done.append(out / f"fig4_exact_b{args.beta[0]:g}_{args.beta[1]:g}.png")
    print("wrote " + ", ".join(map(str, done)))
    return 0
