"""Shared pieces of the simulation studies: methods, protocols and plot colours."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_bool, check_option
from ..paper import METHOD_COLORS, STUDY_SETTINGS
from ..registry import parse_loss_spec, split_loss_specs

__all__ = ["PROTOCOLS", "resolve_methods", "predict_pm", "method_label", "method_color", "loss_source_digest",
           "StudyOutputs", "default_out_dir", "study_settings"]

PROTOCOLS = ("estimator", "paper")


def method_color(spec, i):
    """The paper's colour of a method's loss spec; the i-th colour of matplotlib's cycle for any other."""
    return METHOD_COLORS.get(spec, f"C{i % 10}")


def resolve_methods(methods):
    """Parse loss specs (``lr``, ``mlslr:alpha=0.4``, any registered loss); errors name the bad spec."""
    if isinstance(methods, str):
        methods = split_loss_specs(methods)  # the registry's list rule: 'lr,mlslr:alpha=0.4,by'
    methods = [str(m).strip() for m in methods]
    if not methods:
        raise ValueError("no methods given: name at least one loss spec such as 'lr' or 'mlslr:alpha=0.4'")
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods are repeated: {methods}")
    losses = {}
    for spec in methods:
        try:
            losses[spec] = parse_loss_spec(spec)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"method {spec!r} is not a valid loss spec: {exc}") from exc
    return losses


def loss_source_digest(loss):
    """A hash of the files outside this package that define ``loss`` (its ``source_files``); None for none.

    Grid tasks are cached under a hash of this package's code; a user's loss
    lives in its own file, which therefore joins the task's parameters so
    that editing the loss recomputes its cells instead of reusing them.
    """
    files = loss.source_files()
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def predict_pm(loss, scores):
    """Predicted labels in {-1, +1}: sign of the score, reversed where the loss labels by arg min (LSLR alpha > 1)."""
    pred = np.where(scores > 0, 1.0, -1.0)
    return -pred if loss.labels_by_argmin else pred


def method_label(spec):
    """The display label of a method's loss spec, the loss's own: ``mlslr:alpha=0.4`` -> ``MLSLR a=0.4``."""
    return parse_loss_spec(spec).label


def default_out_dir(study, protocol=None, quick=False) -> Path:
    """The folder a study writes to unless told otherwise: ``results/studies/<study>[-<protocol>][-quick]``.

    The one rule for default folders: the robustness study finds the other
    protocol's results through it (never by editing a folder's name).
    """
    check_option(study, "study", tuple(STUDY_SETTINGS["full"]))
    if protocol is not None:
        check_option(protocol, "protocol", PROTOCOLS)
    name = "-".join([study] + ([protocol] if protocol else []) + (["quick"] if quick else []))
    return Path("results/studies") / name


def study_settings(study, quick=False, **given) -> dict:
    """The settings of a study run: each of ``given`` that is not None, else the preset of paper.STUDY_SETTINGS
    (the full study, or the ``--quick`` one)."""
    preset = STUDY_SETTINGS["quick" if check_bool(quick, "quick") else "full"][study]
    return {k: (given[k] if given.get(k) is not None else preset[k]) for k in dict.fromkeys([*preset, *given])}


@dataclass(frozen=True)
class StudyOutputs:
    """What a study's ``run_and_write`` computed and wrote.

    ``tables`` holds the result frames by file stem, ``paths`` every file
    written (tables, figures, provenance), ``wall_time_s`` the time of the
    computation (writing aside), as its provenance records it.  Each study
    adds the facts its one-line summary reports.
    """

    out_dir: Path
    tables: dict[str, pd.DataFrame]
    paths: list[Path]
    wall_time_s: float
