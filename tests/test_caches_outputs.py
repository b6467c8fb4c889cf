"""Caches and outputs are never silently stale or unsafe (issue 11, classes 7, 10 and the umask item).

Every cached or reused artefact is checked against the inputs it was made
for; a corrupt, foreign or tampered one is recomputed with a warning naming
it, and nothing on disk is ever unpickled.
"""
import json
import os
import pickle
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lsis_robust.cli import main
from lsis_robust.reporting import atomic_write_text, save_figure, write_table
from lsis_robust.studies._grid import Task, run_grid
from lsis_robust.studies.robustness import population_curves, robustness_grid, robustness_task, \
    summarise_robustness

_calls = []


def _task(params, ss):
    _calls.append(params["i"])
    return {"x": np.random.default_rng(ss).random(3), "i": params["i"]}


TASKS = [Task((i,), {"i": i}) for i in range(3)]


def _entry_of(task, tmp_path):
    """The cache file of ``task``: the one file a grid of that task alone writes."""
    solo = tmp_path / f"solo{task.key[0]}"
    run_grid(_task, [task], cache_dir=solo, progress=False)
    (path,) = [p for p in solo.iterdir() if not p.name.startswith(".")]
    return path.name


@pytest.fixture
def cached(tmp_path):
    """A cache of TASKS, the fresh results, and the path of task 1's entry."""
    cache = tmp_path / "cache"
    fresh = run_grid(_task, TASKS, cache_dir=cache, progress=False)
    return cache, fresh, cache / _entry_of(TASKS[1], tmp_path)


def _rerun_expecting_recompute(cache, fresh, victim):
    _calls.clear()
    with pytest.warns(UserWarning, match=victim.name):
        again = run_grid(_task, TASKS, cache_dir=cache, progress=False)
    assert _calls == [1]  # only the bad entry is recomputed
    for a, b in zip(fresh, again):
        assert np.array_equal(a["x"], b["x"]) and int(a["i"]) == int(b["i"])
    _calls.clear()
    run_grid(_task, TASKS, cache_dir=cache, progress=False)  # and the rewritten entry is good again
    assert _calls == []


def test_copied_entry_is_detected_and_recomputed(tmp_path, cached):
    cache, fresh, victim = cached
    donor = cache / _entry_of(TASKS[0], tmp_path)
    shutil.copyfile(donor, victim)  # a valid entry, but of another task
    _rerun_expecting_recompute(cache, fresh, victim)


def test_truncated_entry_is_recomputed(cached):
    cache, fresh, victim = cached
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    _rerun_expecting_recompute(cache, fresh, victim)


def test_garbage_entry_is_recomputed(cached):
    cache, fresh, victim = cached
    victim.write_bytes(np.random.default_rng(0).bytes(500))
    _rerun_expecting_recompute(cache, fresh, victim)


def test_flipped_byte_in_entry_is_recomputed(cached):
    cache, fresh, victim = cached
    data = bytearray(victim.read_bytes())
    i = data.index(np.asarray(fresh[1]["x"]).tobytes())  # the stored numbers themselves
    data[i] ^= 0xFF
    victim.write_bytes(bytes(data))
    _rerun_expecting_recompute(cache, fresh, victim)


class _Payload:
    """Unpickling this creates a marker file: the proof that a cache file ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_pickle_entry_is_never_unpickled(tmp_path, cached):
    cache, fresh, victim = cached
    marker = tmp_path / "pwned"
    victim.write_bytes(pickle.dumps(_Payload(marker)))
    _rerun_expecting_recompute(cache, fresh, victim)
    assert not marker.exists()


def test_task_results_must_be_arrays(tmp_path):
    with pytest.raises(TypeError, match="not numeric"):
        run_grid(_object_task, TASKS[:1], cache_dir=tmp_path, progress=False)


def _object_task(params, ss):
    return {"x": object()}


# -- population.csv and the other protocol's table ------------------------------------------------------------

ROB = ["robustness", "--no-progress", "--betas", "0,4", "--xc2=-2,2", "--n", "200", "--m", "200"]


def _fresh_population(methods, eps):
    return population_curves([(0.0, 4.0)], methods, eps, [-2.0, 2.0], progress=False)


def test_population_of_other_eps_and_methods_is_not_reused(tmp_path):
    out = tmp_path / "robustness-estimator"
    assert main(ROB + ["--out", str(out), "--methods", "lr", "--eps", "0.05"]) == 0
    with pytest.warns(UserWarning, match="population.csv"):
        assert main(ROB + ["--out", str(out), "--methods", "lr,lsqlr", "--eps", "0.2"]) == 0
    pop = pd.read_csv(out / "population.csv")
    expected = _fresh_population(["lr", "lsqlr"], 0.2)
    pd.testing.assert_frame_equal(pop, expected, check_dtype=False, rtol=1e-12)
    # The same inputs again: reused, no warning, no change.
    before = (out / "population.csv").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(ROB + ["--out", str(out), "--methods", "lr,lsqlr", "--eps", "0.2", "--no-cache"]) == 0
    assert (out / "population.csv").read_bytes() == before


def test_edited_population_is_recomputed(tmp_path):
    out = tmp_path / "robustness-estimator"
    argv = ROB + ["--out", str(out), "--methods", "lr", "--no-cache"]
    assert main(argv) == 0
    pop = pd.read_csv(out / "population.csv")
    pop.loc[0, "sob"] = 123.0
    pop.to_csv(out / "population.csv", index=False)
    with pytest.warns(UserWarning, match="population.csv"):
        assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "population.csv"), _fresh_population(["lr"], 0.05),
                                  check_dtype=False, rtol=1e-12)


def test_no_population_removes_a_stale_one(tmp_path):
    out = tmp_path / "robustness-estimator"
    assert main(ROB + ["--out", str(out), "--methods", "lr", "--no-cache"]) == 0
    with pytest.warns(UserWarning, match="population.csv"):
        assert main(ROB + ["--out", str(out), "--methods", "lsqlr", "--no-cache", "--no-population"]) == 0
    assert not list(out.glob("population.*"))


def test_other_protocol_on_other_samples_is_not_overlaid(tmp_path):
    est, pap = tmp_path / "robustness-estimator", tmp_path / "robustness-paper"
    common = ROB + ["--methods", "lr", "--no-cache", "--no-population"]
    assert main(common + ["--out", str(pap), "--protocol", "paper", "--n-starts", "2", "--eps", "0.2"]) == 0
    compare = ["--compare-with", str(pap)]
    with pytest.warns(UserWarning, match="eps=0.2"):
        assert main(common + ["--out", str(est), "--eps", "0.05"] + compare) == 0
    assert json.loads((est / "robustness.provenance.json").read_text())["compared_with"] is None
    # Same samples: overlaid.
    assert main(common + ["--out", str(est), "--eps", "0.2"] + compare) == 0
    prov = json.loads((est / "robustness.provenance.json").read_text())
    assert prov["compared_with"] == str(pap / "robustness.csv")
    # A folder of one's own pairs with no other unless named: no guessing from the folder's name.
    assert main(common + ["--out", str(est), "--eps", "0.2"]) == 0
    assert json.loads((est / "robustness.provenance.json").read_text())["compared_with"] is None


def test_default_folders_of_the_two_protocols_pair_with_each_other(tmp_path, monkeypatch):
    from lsis_robust.studies.common import default_out_dir
    from lsis_robust.studies.robustness import other_protocol_dir

    monkeypatch.chdir(tmp_path)
    est = default_out_dir("robustness", "estimator", quick=True)
    assert est == Path("results/studies/robustness-estimator-quick")
    assert other_protocol_dir(est, "estimator", quick=True) == Path("results/studies/robustness-paper-quick")
    assert other_protocol_dir(tmp_path / est, "estimator", quick=True) == Path(
        "results/studies/robustness-paper-quick")  # the same folder, named absolutely
    assert other_protocol_dir(est, "estimator", quick=False) is None  # quick pairs with quick only
    assert other_protocol_dir(tmp_path / "robustness-estimator", "estimator") is None
    with pytest.raises(ValueError, match="protocol"):
        other_protocol_dir(est, "adam")


# -- nn: no stale tables beside a new runs.csv ---------------------------------------------------------------

def _nn_frames(kinds):
    runs, hist = [], []
    for kind, alpha in kinds:
        name = kind if alpha is None else f"{kind}-{alpha}"
        for t in range(2):
            row = {"method": name, "kind": kind, "alpha": alpha if alpha is not None else np.nan, "trial": t,
                   "test_tsr": 0.3 + 0.01 * t, "test_ttr": 0.1 + 0.01 * t, "converged": True}
            if kind == "lslr":
                row.update({f"{s}_{k}": 0.1 for s in ("train", "test") for k in ("opder", "oper", "msor", "msor_eq30")})
            runs.append(row)
            hist += [{"method": name, "trial": t, "epoch": e, "test_ttr": 0.2 / e, "train_loss": 1.0 / e,
                      "train_opder": 0.1 if kind == "lslr" else np.nan} for e in (1, 2)]
    return pd.DataFrame(runs), pd.DataFrame(hist)


def test_nn_tables_of_an_earlier_run_are_removed(tmp_path):
    from lsis_robust.nn.tables import write_results

    out = tmp_path / "nn"
    write_results(*_nn_frames([("lr", None), ("lslr", 0.4), ("mlslr", 0.4), ("lslr", 10 / 9), ("mlslr", 10 / 9)]),
                  out, "all")
    assert {p.name for p in out.glob("table*.csv")} == {"table2.csv", "table3.csv", "table4.csv", "table5.csv"}
    (out / "notes.txt").write_text("the user's own file")
    write_results(*_nn_frames([("lr", None)]), out, "lr only")
    left = {p.name for p in out.iterdir()}
    assert not any(name.startswith("table") for name in left), left
    assert {"runs.csv", "curves.csv", "baselines.csv", "baselines.md", "baselines.tex", "learning_curves.png",
            "notes.txt"} <= left
    assert set(pd.read_csv(out / "runs.csv").method) == {"lr"}


# -- unconverged fits are excluded from the robustness means and counted --------------------------------------

def test_unconverged_fits_excluded_and_counted():
    from lsis_robust.studies._grid import seed_sequence

    # n = 30 at beta = (0, 4): some samples with the point at x_c2 = 0.5 are separated; LR diverges there.
    tasks = robustness_grid(betas=[(0, 4)], methods=["lr"], xc2=[-3.0, 0.5], n=30, m=200, n_trials=6)
    results = [robustness_task(t.params, seed_sequence(0, t.seed_key)) for t in tasks]
    df = summarise_robustness(tasks, results)
    ok = np.array([r["ok"] for r in results])  # (trials, problems)
    sob = np.array([r["sob"] for r in results])
    ttr = np.array([r["ttr"] for r in results])
    assert (~ok).any() and ok.any(axis=0).all()  # the case exercises exclusion
    assert sob[~ok].min() > 10 * sob[ok].max()  # the excluded fits are the diverged ones
    for j, row in enumerate(df.itertuples()):
        used = ok[:, j]
        assert row.n_excluded == int((~used).sum()) and row.n_used == int(used.sum())
        assert row.n_trials == 6
        assert np.isclose(row.sob_mean, sob[used, j].mean(), rtol=1e-12)
        assert np.isclose(row.ttr_mean, ttr[used, j].mean(), rtol=1e-12)
        if used.sum() > 1:
            assert np.isclose(row.sob_std, sob[used, j].std(ddof=1), rtol=1e-12)
    assert (df.n_excluded > 0).any()


def test_compare_robustness_scores_use_converged_fits_only(tmp_path):
    from lsis_robust.compare import criterion_robustness

    class Ctx:
        settings = {"betas": [(0.0, 4.0)], "xc2": [-3.0, 0.5], "eps": 0.05, "n": 30, "m": 200, "n_trials": 6}
        methods, new, seed, progress, figdir = ("lr",), "lr", 0, False, tmp_path

    section = criterion_robustness(Ctx)
    worst = section.score("worst-case SoB under contamination (max over x_c, y_c)").values["lr"]
    assert worst < 10  # one diverged fit would put it above 50
    assert any("excluded" in note for note in section.notes)


# -- output files respect the umask ---------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_respect_umask(tmp_path, umask, mode):
    import matplotlib.pyplot as plt

    old = os.umask(umask)
    try:
        paths = [atomic_write_text(tmp_path / "a.txt", "x")]
        paths += list(write_table(pd.DataFrame({"a": [1.0]}), tmp_path, "t").values())
        paths.append(save_figure(plt.figure(), tmp_path / "f.png", "caption"))
        run_grid(_task, TASKS[:1], cache_dir=tmp_path / "cache", progress=False)
        paths += list((tmp_path / "cache").iterdir())
    finally:
        os.umask(old)
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


# -- a user's loss file is part of its cells' cache key --------------------------------------------------------

_LOSS_FILES = {  # written with torch operations, as user losses are (derivatives by autodiff)
    "lr": "import torch.nn.functional as F\n\ndef cachetest_phi(m):\n    return F.softplus(-m)\n",
    # Savage loss: bounded, a different minimiser on the same samples.
    "savage": "import torch\n\ndef cachetest_phi(m):\n    return 0.5 * torch.sigmoid(-m) ** 2\n",
}


def _register_from_file(path, n):
    import importlib.util

    from lsis_robust.registry import register_loss

    spec = importlib.util.spec_from_file_location(f"cachetest_loss_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register_loss("cachetest", overwrite=True)(module.cachetest_phi)


def test_editing_a_user_loss_file_recomputes_its_cells(tmp_path, clean_registry):
    from lsis_robust.studies.efficiency import run_efficiency

    path = tmp_path / "cachetest_loss.py"
    kw = dict(betas=[(0, 2)], sizes=[60], methods=["cachetest"], n_trials=3, m=100, progress=False)
    path.write_text(_LOSS_FILES["lr"])
    _register_from_file(path, 0)
    first, _ = run_efficiency(**kw, cache_dir=tmp_path / "cache")
    path.write_text(_LOSS_FILES["savage"])
    _register_from_file(path, 1)
    edited, _ = run_efficiency(**kw, cache_dir=tmp_path / "cache")
    fresh, _ = run_efficiency(**kw)
    assert not np.isclose(first.sob_mean[0], fresh.sob_mean[0])  # the edit matters
    pd.testing.assert_frame_equal(edited, fresh)
