"""Theory sub-commands: ``lsis-robust are`` (Table I) and ``lsis-robust theory-figures``."""
from __future__ import annotations

from .._validation import UniqueList, UsageError, arg_type, check_out_dir, float_in, int_at_least, parse_vector
from ..paper import THEORY_FIGURES
from ..registry import parse_loss_spec

DEFAULT_OUT = "results/theory"


def _beta(text: str) -> tuple[float, ...]:
    return tuple(parse_vector(text))


def _loss_spec(text: str) -> str:
    parse_loss_spec(text)  # the spec must build a loss; the table keeps it as written
    return text.strip()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "are", help="Table I: asymptotic relative efficiency tr(C_LR)/tr(C) (Markdown, CSV, LaTeX)",
        description="Asymptotic relative efficiency of MLSLR (each alpha), LSQLR and extra losses against LR "
                    "under the paper's design (20), by error-controlled quadrature.")
    p.add_argument("--beta", type=arg_type(_beta), action=UniqueList, append=True, metavar="B1,B2",
                   help="a row's true beta (intercept first); repeat for several rows (default: Table I's 9)")
    p.add_argument("--alpha", type=float_in(), nargs="+", action=UniqueList, default=None, metavar="A",
                   help="MLSLR smoothing levels in [0, 1) (default: 0.2 0.4 0.6 0.8)")
    p.add_argument("--extra", type=arg_type(_loss_spec), nargs="*", action=UniqueList, default=["by", "ch"],
                   metavar="LOSS",
                   help="extra loss columns as 'name' or 'name:param=value' (default: by ch)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    p.set_defaults(func=_run_are)

    f = subparsers.add_parser(
        "theory-figures", help="Fig. 3, Fig. 5, influence functions and the exact Fig. 4 (PNG + tables)",
        description="Population figures of the theory engine.")
    f.add_argument("--only", nargs="+", choices=THEORY_FIGURES, action=UniqueList, default=list(THEORY_FIGURES),
                   help="figures to make (default: all)")
    f.add_argument("--beta", type=arg_type(_beta), default=(0.0, 4.0), metavar="B1,B2",
                   help="true beta for the influence and Fig. 4 panels (default: 0,4)")
    f.add_argument("--eps", type=float_in(0, 1, open_max=True), default=0.05,
                   help="contamination share for Fig. 4, in [0, 1) (default: 0.05)")
    f.add_argument("--points", type=int_at_least(2), default=201, help="x_c2 grid points on [-10, 10] (default: 201)")
    f.add_argument("--n-jobs", type=int_at_least(1), default=None,
                   help="processes for the Fig. 4 grid (default: $LSIS_ROBUST_N_JOBS, else the cores this process "
                        "may use); the numbers are the same for any count")
    f.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    f.set_defaults(func=_run_figures)


def _run_are(args) -> int:
    from ..paper import TABLE1_ALPHAS
    from ..theory.outputs import write_table1

    alphas = TABLE1_ALPHAS if args.alpha is None else tuple(args.alpha)
    check_out_dir(args.out)
    values, errors, paths = write_table1(args.out, args.beta, alphas, tuple(args.extra))
    print(values.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"max estimated integration error {errors.values.max():.1e}; wrote {', '.join(map(str, paths.values()))}")
    return 0


def _run_figures(args) -> int:
    from ..theory.outputs import write_figures

    if len(args.beta) != 2:
        raise UsageError(f"argument --beta: the influence and Fig. 4 panels use x = (1, x2), so beta needs 2 numbers, "
                         f"got {len(args.beta)}")
    if args.n_jobs is None:  # an invalid $LSIS_ROBUST_N_JOBS is a ValueError: one line, as for bad input
        from ..studies._grid import default_n_jobs

        args.n_jobs = default_n_jobs()
    done = write_figures(check_out_dir(args.out), args.only, args.beta, args.eps, args.points, n_jobs=args.n_jobs)
    print("wrote " + ", ".join(map(str, done)))
    return 0
