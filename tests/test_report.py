"""`lsis-robust report`: the printed values, the computed agreement, missing and corrupt inputs, the asv
history, Markdown/HTML consistency, and the real report opened in headless chromium."""
import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_compare import _browser_probe

from lsis_robust import paper
from lsis_robust.cli import main
from lsis_robust.report import CONTRADICTS, EXACT, NOT_COMPARABLE, SAME_ORDER, agreement, build_report, summarize
from lsis_robust.report.asv import history_table, read_history
from lsis_robust.reporting import ReportTable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


# ---------------------------------------------------------------- the printed values

def test_printed_tables_have_every_cell_once():
    sizes = {"Table I": 45, "Table II": 16, "Table III": 24, "Table IV": 20, "Table V": 30}
    for name, n in sizes.items():
        t = paper.table(name)
        assert len(t.cells) == n, name
        assert t.source.startswith(name) and t.equations and t.decimals == 4
        keys = [c for c in t.cells.columns if c not in ("mean", "std", "value")]
        assert not t.cells.duplicated(keys).any(), name
    # Table IV's alphas are 9.2/9 ... 10/9 = K/(K-1) for K = 10.
    assert np.isclose(paper.table("Table IV").cells["alpha"].max(), paper.N_CLASSES / (paper.N_CLASSES - 1))
    # Theory reads the same array: one home.
    from lsis_robust.theory import TABLE1_PRINTED
    assert TABLE1_PRINTED is paper.TABLE1_ARE


def test_printed_tables_cannot_be_altered_through_the_accessor():
    cells = paper.table("Table II").cells
    cells.loc[0, "mean"] = 99.0
    assert paper.table("Table II").cells.loc[0, "mean"] == 1.0316
    with pytest.raises(ValueError):
        paper.TABLE1_ARE[0, 0] = 1.0
    with pytest.raises(ValueError, match="unknown printed table"):
        paper.table("Table VI")


def test_table1_from_the_committed_csv_is_45_of_45_exact():
    ours = pd.read_csv(RESULTS / "theory" / "table1_are.csv")
    long = ours.melt(id_vars="beta", value_vars=list(paper.table("Table I").cells["method"].unique()),
                     var_name="method", value_name="value")
    table = agreement(long, paper.table("Table I").cells, ["beta", "method"], ["beta"], 4, value="value")
    assert summarize(table) == "45/45 exact to the printed digits"
    assert table["deviation"].abs().max() < 5e-5


# ---------------------------------------------------------------- the agreement logic on hand-made tables

def _pair(lslr, mlslr, **extra):
    return pd.DataFrame([dict(metric="TTR", method="LSLR", alpha=0.2, mean=lslr),
                         dict(metric="TTR", method="MLSLR", alpha=0.2, mean=mlslr)]).assign(**extra)


def _judge(ours, printed):
    return agreement(ours, printed, ["metric", "method", "alpha"], ["metric", "alpha"], 4)


def test_exact_means_equal_at_the_printed_digits():
    table = _judge(_pair(0.07814, 0.0699), _pair(0.0781, 0.0697))
    assert list(table["verdict"]) == [EXACT, SAME_ORDER]  # .07814 rounds to .0781; .0699 is judged by ordering
    assert np.allclose(table["deviation"], [0.00004, 0.0002])
    table = _judge(_pair(0.07815001, 0.0697), _pair(0.0781, 0.0697))
    assert table["verdict"].iloc[0] == SAME_ORDER  # rounds to .0782: not exact


def test_same_ordering_and_contradiction():
    printed = _pair(0.0781, 0.0697)  # the paper: MLSLR better
    assert set(_judge(_pair(0.5, 0.4), printed)["verdict"]) == {SAME_ORDER}
    table = _judge(_pair(0.4, 0.5), printed)
    assert set(table["verdict"]) == {CONTRADICTS}
    assert table["reason"].iloc[0] == "rank 1 of 2 in ours, 2 printed"


def test_ordering_over_more_than_two_cells_judges_each_rank():
    printed = pd.DataFrame(dict(set="train", metric="OPDER", alpha=[0.2, 0.4, 0.6], mean=[0.1, 0.2, 0.3]))
    ours = printed.assign(mean=[0.5, 0.7, 0.6])
    table = agreement(ours, printed, ["set", "metric", "alpha"], ["set", "metric"], 4)
    assert list(table["verdict"]) == [SAME_ORDER, CONTRADICTS, CONTRADICTS]


def test_unconverged_or_tied_or_missing_is_not_comparable():
    printed = _pair(0.0781, 0.0697)
    table = _judge(_pair(0.4, 0.9, converged=[True, False]), printed)
    assert set(table["verdict"]) == {NOT_COMPARABLE}
    assert list(table["reason"]) == ["a cell it is compared with is missing or did not converge",
                                     "ours did not converge"]
    # An unconverged cell is not comparable even where it happens to match the printed digits.
    assert _judge(_pair(0.0781, 0.0697, converged=[False, True]), printed)["verdict"].iloc[0] == NOT_COMPARABLE
    assert set(_judge(_pair(0.5, 0.4), _pair(1.0316, 1.0316))["reason"]) == {"the printed values tie"}
    assert set(_judge(_pair(0.4, 0.4), printed)["reason"]) == {"our values tie"}
    table = _judge(_pair(0.5, 0.4).iloc[:1], printed)
    assert list(table["verdict"]) == [NOT_COMPARABLE, NOT_COMPARABLE]
    assert table["reason"].iloc[1] == "no value of ours"
    assert summarize(table) == "2/2 not comparable"


def test_float_keys_survive_a_csv_round_trip(tmp_path):
    printed = paper.table("Table IV").cells
    ours = printed.assign(mean=printed["mean"] + 1e-7)
    ours.to_csv(tmp_path / "t.csv", index=False)
    back = pd.read_csv(tmp_path / "t.csv")
    table = agreement(back, printed, ["metric", "method", "alpha"], ["metric", "alpha"], 4)
    assert (table["verdict"] == EXACT).all() and table["ours"].notna().all()


def test_agreement_rejects_bad_input():
    printed = _pair(0.0781, 0.0697)
    with pytest.raises(TypeError, match="ours must be a pandas DataFrame"):
        _judge([1, 2], printed)
    with pytest.raises(ValueError, match="lacks column"):
        _judge(_pair(0.1, 0.2).drop(columns="alpha"), printed)
    with pytest.raises(ValueError, match="more than one row"):
        _judge(pd.concat([_pair(0.1, 0.2), _pair(0.1, 0.2)]), printed)
    with pytest.raises(ValueError, match="decimals"):
        agreement(_pair(0.1, 0.2), printed, ["metric", "method", "alpha"], ["metric"], -1)
    with pytest.raises(ValueError, match="group columns"):
        agreement(_pair(0.1, 0.2), printed, ["metric", "method", "alpha"], ["set"], 4)


def test_report_table_renders_the_same_digits_everywhere():
    t = ReportTable(pd.DataFrame({"a": ["x", "y"], "b": [1.23456, np.nan], "d": [3e-9, 1.0]}), "T", ["n"],
                    formats={"d": "{:+.1e}"})
    for text in (t.as_text(), t.as_markdown(), t.as_html()):
        assert "1.2346" in text and "+3.0e-09" in text and "nan" not in text.lower()
    with pytest.raises(TypeError):
        ReportTable([1, 2])
    with pytest.raises(ValueError, match="formats name columns"):
        ReportTable(pd.DataFrame({"a": [1.0]}), formats={"b": "{}"})


# ---------------------------------------------------------------- missing, corrupt and quick inputs

def _sections(res):
    return {s.key: s for s in res.sections}


def test_an_empty_results_folder_gives_not_run_sections_with_their_commands(tmp_path):
    res = build_report(tmp_path, html_path=tmp_path / "i.html", md_path=tmp_path / "r.md")
    secs = _sections(res)
    assert all(s.status == "not run" for s in res.sections) and not res.warnings
    assert "`lsis-robust are`" in secs["table-1"].summary
    assert "`lsis-robust nn`" in secs["table-4"].summary
    assert "`lsis-robust efficiency`" in secs["fig-2"].summary
    assert "asv run" in secs["asv"].summary
    md = (tmp_path / "r.md").read_text()
    assert md.count("not run:") >= len(res.sections)


def test_missing_results_folder_is_a_one_line_cli_error(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lsis-robust report: error: results folder {tmp_path / 'nope'} does not exist or is not a folder"]
    with pytest.raises(ValueError, match="two different paths"):
        build_report(tmp_path, html_path=tmp_path / "x", md_path=tmp_path / "x")
    with pytest.raises(TypeError, match="quick"):
        build_report(tmp_path, quick="yes")


def _copy(tmp_path, *parts):
    src, dst = RESULTS.joinpath(*parts), tmp_path.joinpath("results", *parts)
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("damage", [
    ("table1_are.csv", "beta,MLSLR a=0.2\n\"unterminated\n"),
    ("table1_are.csv", ""),
    ("table1_are.csv", "beta,LSQLR\n(0, 1),0.9\n"),
    ("table1_are.provenance.json", "{not json"),
])
def test_a_corrupt_input_marks_its_section_and_warns(tmp_path, capsys, damage):
    folder = _copy(tmp_path, "theory")
    (folder / damage[0]).write_text(damage[1])
    out = tmp_path / "out"
    assert main(["report", "--results", str(tmp_path / "results"), "--html", str(out / "i.html"),
                 "--markdown", str(out / "r.md")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lsis-robust report: warning: ") and damage[0] in err[0]
    md = (out / "r.md").read_text()
    assert "status: unreadable" in md and damage[0] in md
    assert "status: unreadable" in (out / "i.html").read_text()
    # The other sections of the same folder are still built.
    assert "Fig. 5: range of the R-logit model | paper artifact | ok" in re.sub(r" +", " ", md)


def test_quick_reads_the_quick_folders_and_writes_its_own_files(tmp_path):
    _copy(tmp_path, "nn", "digits-quick")
    res = build_report(tmp_path / "results", quick=True)
    assert res.html == tmp_path / "results" / "index-quick.html" and res.markdown.name == "REPORT-quick.md"
    assert _sections(res)["table-2"].status == "ok"
    full = build_report(tmp_path / "results", html_path=tmp_path / "a.html", md_path=tmp_path / "a.md")
    assert _sections(full)["table-2"].status == "not run" and "results/nn/digits/table2.csv" in \
        _sections(full)["table-2"].summary


def test_unconverged_cells_are_marked_and_never_contradict(tmp_path):
    folder = _copy(tmp_path, "nn", "digits")
    t4 = pd.read_csv(folder / "table4.csv")
    t4["converged"] = t4["method"] == "LSLR"
    t4["n_converged"] = np.where(t4["converged"], 3, 0)
    t4.to_csv(folder / "table4.csv", index=False)
    runs = pd.read_csv(folder / "runs.csv")
    runs["converged"] = ~runs["method"].str.startswith("mlslr-9")
    runs.to_csv(folder / "runs.csv", index=False)
    res = build_report(tmp_path / "results", html_path=tmp_path / "i.html", md_path=tmp_path / "r.md")
    counts = _sections(res)["table-2"].tables[-1]
    assert counts.title == "Runs that converged (runs.csv): 48 of 60"
    assert counts.df.set_index("method").loc["mlslr-9.2/9", "runs converged"] == 0
    sec = _sections(res)["table-4"]
    assert sec.summary == "20/20 not comparable"
    assert any("10 of 20 cells of ours did not converge" in p for p in sec.paragraphs)
    assert "n_converged" in sec.tables[0].df.columns and "converged" in sec.tables[0].df.columns
    # Without the columns (outputs of a version before the diagnostic), the same table is judged by ordering.
    bare = tmp_path / "bare"
    folder = _copy(bare, "nn", "digits")
    for name, cols in (("table4.csv", ["converged", "n_converged"]), ("runs.csv", ["converged"])):
        pd.read_csv(folder / name).drop(columns=cols).to_csv(folder / name, index=False)
    assert "contradicts" in _sections(build_report(bare / "results", html_path=tmp_path / "j.html",
                                                   md_path=tmp_path / "s.md"))["table-4"].summary


# ---------------------------------------------------------------- asv history

def _asv_result(machine_dir, commit, date_ms, values):
    cols = ["result", "params", "version", "started_at", "duration"]
    results = {name: [None if v is None else [v], [], "abc", date_ms, 1.0] for name, v in values.items()}
    data = {"commit_hash": commit, "env_name": "virtualenv-py3.11", "date": date_ms,
            "params": {"machine": machine_dir.name}, "python": "3.11", "requirements": {}, "env_vars": {},
            "result_columns": cols, "results": results, "durations": {}, "version": 2}
    (machine_dir / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(data))


def _asv_folder(tmp_path, n=22):
    machine = tmp_path / "results" / "asv" / "box"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    for i in range(n):
        # Files are named by hash, so their listing order is not the commits' order: the date is.
        commit = f"{(n - i) * 7919:08x}" + "0" * 32
        _asv_result(machine, commit, 1_700_000_000_000 + i * 86_400_000,
                    {"bench_a.T.time_fit": 0.01 * (i + 1), "bench_b.A.track_ttr": 0.5 - 0.01 * i,
                     "bench_c.B.time_rare": 1.0 if i == 0 else None})
    return machine


def test_asv_history_reads_asv_result_files_in_commit_date_order(tmp_path):
    _asv_folder(tmp_path)
    stray = tmp_path / "results" / "asv" / "html"  # asv publish's output: not a machine, never read
    stray.mkdir()
    (stray / "index.json").write_text("{}")
    hist = read_history(tmp_path / "results" / "asv")
    assert hist["commit"].nunique() == 22 and set(hist["machine"]) == {"box"}
    wide = history_table(hist, n_benchmarks=2)
    assert list(wide.columns) == ["machine", "date", "commit", "bench_b.A.track_ttr", "bench_a.T.time_fit"]
    assert np.allclose(wide["bench_a.T.time_fit"], 0.01 * np.arange(1, 23))
    assert np.allclose(wide["bench_b.A.track_ttr"], 0.5 - 0.01 * np.arange(22))


def test_asv_section_shows_history_and_links_the_published_page(tmp_path):
    _asv_folder(tmp_path)
    out = dict(html_path=tmp_path / "i.html", md_path=tmp_path / "r.md")
    sec = _sections(build_report(tmp_path / "results", **out))["asv"]
    assert sec.status == "ok" and sec.summary == "22 commits on 1 machine(s)" and not sec.links
    assert "asv publish" in sec.paragraphs[0]
    page = tmp_path / "results" / "asv" / "html" / "index.html"
    page.parent.mkdir()
    page.write_text("<html></html>")
    sec = _sections(build_report(tmp_path / "results", **out))["asv"]
    assert sec.links and sec.links[0][1] == page
    assert "href='results/asv/html/index.html'" in (tmp_path / "i.html").read_text()


def test_a_corrupt_asv_result_file_marks_the_section(tmp_path):
    machine = _asv_folder(tmp_path, n=2)
    (machine / "deadbeef-virtualenv-py3.11.json").write_text('{"version": 1}')
    res = build_report(tmp_path / "results", html_path=tmp_path / "i.html", md_path=tmp_path / "r.md")
    assert _sections(res)["asv"].status == "unreadable"
    assert len(res.warnings) == 1 and "not an asv result file" in res.warnings[0]


# ---------------------------------------------------------------- the real report

@pytest.fixture(scope="module")
def real_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return build_report(RESULTS, html_path=out / "index.html", md_path=out / "REPORT.md")


def test_the_real_report_agrees_with_the_paper_where_it_should(real_report):
    secs = _sections(real_report)
    assert not real_report.warnings
    assert secs["table-1"].summary == "45/45 exact to the printed digits"
    for key in ("fig-2", "fig-3", "fig-4", "fig-5", "influence", "exact-fig-4"):
        assert secs[key].status == "ok" and secs[key].checks, key
        assert all(c.passed is True for c in secs[key].checks), (key, [c.detail for c in secs[key].checks])
    assert any("not ResNet-18 on CIFAR-10" in p for p in secs["table-2"].paragraphs)
    for s in real_report.sections:
        if s.status == "ok" and s.key not in ("fig-3", "fig-5", "influence", "asv"):
            assert s.provenance and "commit" in " ".join(s.provenance), s.key


def test_markdown_and_html_say_the_same_things(real_report):
    md = real_report.markdown.read_text()
    page = real_report.html.read_text()
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for s in real_report.sections:
        assert f"## {s.title}" in md and f"<h2>{html.escape(s.title)}</h2>" in page
        assert s.outcome() in md and s.outcome() in text
        for c in s.checks:
            assert c.detail in md and c.detail in text
    n_figures = sum(len(s.figures) for s in real_report.sections)
    assert n_figures >= 9
    assert md.count("![") == page.count("<img ") == n_figures
    n_tables = 1 + sum(len(s.tables) + bool(s.checks) for s in real_report.sections)
    assert page.count("<table") == n_tables == len(re.findall(r"^\|[-:| ]+\|$", md, re.M))
    assert "http://" not in page and "https://" not in page and "src='data:image/png;base64," in page


def test_the_report_is_byte_identical_when_rebuilt(real_report, tmp_path):
    again = build_report(RESULTS, html_path=tmp_path / "index.html", md_path=tmp_path / "REPORT.md")
    assert again.html.read_bytes() == real_report.html.read_bytes()


def test_the_committed_report_is_up_to_date(tmp_path, monkeypatch):
    committed = RESULTS / "REPORT.md"
    assert committed.is_file(), "results/REPORT.md is not committed; run `lsis-robust report`"
    monkeypatch.chdir(ROOT)  # as the command runs: paths in the report are relative to the repository
    fresh = build_report("results", html_path=tmp_path / "index.html", md_path=tmp_path / "REPORT.md")
    # Figure links are relative to the report's folder, which differs here: compare the rest.
    strip = lambda t: re.sub(r"\]\([^)]*\)", "]()", t)  # noqa: E731
    assert strip(committed.read_text()) == strip(fresh.markdown.read_text()), \
        "results/REPORT.md is stale: run `lsis-robust report` and commit results/index.html and results/REPORT.md"


# Runs in the page, at the end of <body>: an error here is caught by the probe's error listener.
TABLE1_CHECK = ("<script>(function () { var s = document.getElementById('table-1');"
                "if (!s || s.textContent.indexOf('45/45 exact to the printed digits') < 0) {"
                "throw new Error('the Table I section does not say 45/45'); } })();</script>")


def _probe(page_text, tmp_path):
    page = tmp_path / "with_check.html"
    page.write_text(page_text.replace("</body>", TABLE1_CHECK + "</body>", 1))
    return _browser_probe(page, tmp_path)


def test_the_report_loads_in_headless_chromium(real_report, tmp_path):
    probe = _probe(real_report.html.read_text(), tmp_path)
    assert probe["errors"] == []
    assert probe["n"] == sum(len(s.figures) for s in real_report.sections) >= 9
    for img in probe["imgs"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0 and img["shown_w"] > 0


def test_the_browser_check_of_table1_can_fail(real_report, tmp_path):
    probe = _probe(real_report.html.read_text().replace("45/45 exact", "44/45 exact"), tmp_path)
    assert any("does not say 45/45" in e for e in probe["errors"])


def test_reproduce_ends_with_the_report_and_prints_expected_durations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", "are", "report"]) == 0
    out = capsys.readouterr().out
    assert "== lsis-robust are (step 1/2, expected about 1 s)" in out
    assert "== lsis-robust report (step 2/2, expected about" in out and "expected about" in out.splitlines()[0]
    md = (tmp_path / "results" / "REPORT.md").read_text()
    assert "45/45 exact to the printed digits" in md and "not run: results/nn/digits/table2.csv is missing" in md
    assert (tmp_path / "results" / "index.html").is_file()


def test_report_paths_that_are_folders_are_refused(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert main(["report", "--results", str(tmp_path), "--html", str(tmp_path / "out")]) == 2
    assert "is a folder" in capsys.readouterr().err


# ---------------------------------------------------------------- the figure checks can fail

def _write(folder, name, df):
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / name, index=False)


def test_fig2_check_fails_when_smoothing_improves_efficiency(tmp_path):
    rows = []
    for n in (50, 200):
        for k, method in enumerate(["lr", "mlslr:alpha=0.8", "lsqlr"]):
            # SoB falls with alpha, by far more than two standard errors (std 0.01 over 100 trials).
            rows.append(dict(beta1=0.0, beta2=4.0, n=n, method=method, n_trials=100, sob_mean=1.0 - 0.2 * k,
                             sob_std=0.01, ttr_mean=0.2 - 0.01 * k))
    _write(tmp_path / "results" / "studies" / "efficiency-estimator", "efficiency.csv", pd.DataFrame(rows))
    sec = _sections(build_report(tmp_path / "results", html_path=tmp_path / "i.html", md_path=tmp_path / "r.md"))
    checks = sec["fig-2"].checks
    assert [c.passed for c in checks] == [False, False]
    assert "0/1 betas at the largest n = 200" in checks[0].detail
    assert "estimator protocol" in sec["fig-2"].paragraphs[0]


def test_fig4_check_fails_when_lr_is_the_most_robust(tmp_path):
    rows = [dict(beta1=0.0, beta2=4.0, method=m, y_c=1, x_c2=x, n_trials=1, sob_mean=0.1 + k, ttr_mean=0.1 + k)
            for k, m in enumerate(["lr", "mlslr:alpha=0.2", "mlslr:alpha=0.8"]) for x in (-5.0, -3.0, 2.0)]
    _write(tmp_path / "results" / "studies" / "robustness-paper", "robustness.csv", pd.DataFrame(rows))
    sec = _sections(build_report(tmp_path / "results", html_path=tmp_path / "i.html", md_path=tmp_path / "r.md"))
    assert [c.passed for c in sec["fig-4"].checks] == [False, False, False]
    assert "2 contamination points" in sec["fig-4"].checks[0].detail  # only x_c2 = -5, -3 are anomalous for y_c = +1


def test_exact_fig4_check_fails_when_mlslr_is_unbounded(tmp_path):
    x = np.linspace(-10, 10, 21)
    rows = [dict(method=m, y_c=1.0, x_c1=1.0, x_c2=v, sob=abs(min(v, 0.0)) + 0.01) for m in ("LR", "MLSLR a=0.2")
            for v in x]
    _write(tmp_path / "results" / "theory", "fig4_exact_b0_4.csv", pd.DataFrame(rows))
    sec = _sections(build_report(tmp_path / "results", html_path=tmp_path / "i.html", md_path=tmp_path / "r.md"))
    check = sec["exact-fig-4"].checks[0]
    assert check.passed is False and "MLSLR a=0.2 y_c=+1: 10 of 10.010" in check.detail
