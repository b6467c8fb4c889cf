"""End to end: a loss defined outside the package goes through `lsis-robust compare --quick` to a report
that a real headless browser (Debian's chromium) loads without errors, showing every figure."""
import html
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from lsis_robust import registry
from lsis_robust.cli import main
from lsis_robust.compare import Context, Section, criterion_nn, resolve_new_loss, run_compare, summary_table

USER_MODULE = '''
import torch

def scaled_savage(m, s=2.0):
    """Savage loss times s: Fisher-consistent and bounded, defined outside lsis_robust."""
    return 0.5 * s * torch.sigmoid(-m) ** 2

def _kclass(logits, target, reduction="mean", s=2.0):
    q = torch.softmax(logits, dim=1)
    t = torch.nn.functional.one_hot(target.long(), logits.shape[1]).to(q.dtype)
    per = 0.5 * s * ((q - t) ** 2).sum(dim=1)
    return per.mean() if reduction == "mean" else (per.sum() if reduction == "sum" else per)

with_kclass = lambda m, s=2.0: scaled_savage(m, s)
with_kclass.kclass = _kclass
'''

# Runs before the page's own content: records script and resource errors, and after load writes what
# every <img> shows into the DOM, which --dump-dom then prints.
PROBE = """<script>
window.__errs = [];
window.addEventListener('error', function (e) {
  window.__errs.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {n: imgs.length, errors: window.__errs, imgs: imgs.map(function (i) {
    var r = i.getBoundingClientRect();
    return {complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, shown_w: r.width, shown_h: r.height};
  })};
  var d = document.createElement('pre'); d.id = 'lsis-probe'; d.textContent = JSON.stringify(out);
  document.body.appendChild(d);
});
</script>"""


@pytest.fixture(autouse=True)
def _registry_as_found(clean_registry):
    """Each test sees the registry as it was before any test registered a user loss."""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_new_losses.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_new_losses"


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed; run scripts/install_chromium.sh (the report test needs a real browser)")
    return exe


def _browser_probe(report, tmp_path):
    page = tmp_path / "probe.html"
    text = report.read_text()
    page.write_text(text.replace("<head>", "<head>" + PROBE, 1))
    profile = tmp_path / "chromium-profile"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--window-size=1280,2000", "--virtual-time-budget=10000",
           "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="lsis-probe">(.*?)</pre>', res.stdout, re.S)
    assert match, f"the probe never ran (exit {res.returncode}): {res.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


def test_quick_compare_of_an_outside_loss_end_to_end_and_in_a_browser(user_module, tmp_path):
    out = tmp_path / "report"
    rc = main(["compare", "--loss", f"{user_module}:scaled_savage:s=2", "--quick", "--out", str(out),
               "--seed", "3", "--no-progress"])
    assert rc == 0
    html_text = (out / "report.html").read_text()
    md_text = (out / "report.md").read_text()
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["are.png", "efficiency.png", "influence.png", "realdata.png", "robustness.png", "shapes.png"]
    assert html_text.count("data:image/png;base64,") == len(figures)
    assert 'src="http' not in html_text and "src='http" not in html_text  # self-contained
    for name in figures:
        assert f"(figures/{name})" in md_text
    # no K-class form: the deep-net part is a note, not an error
    assert "Skipped: the loss 'scaled_savage:s=2' has no K-class torch form" in md_text

    summary = pd.read_csv(out / "tables" / "summary.csv")
    scores = pd.read_csv(out / "tables" / "scores.csv")
    are = scores[scores.metric == "mean ARE over the Table I designs"].iloc[0]
    # A scaled Savage loss has exactly the Savage loss's covariance: same ARE as LSQLR, and LR is best.
    assert are["scaled_savage:s=2 (new)"] == pytest.approx(are["LSQLR"], rel=1e-8)
    assert are["LR"] == pytest.approx(1.0)
    row = summary[summary.metric == "mean ARE over the Table I designs"].iloc[0]
    assert row["best method"] == "LR" and row["rank"].endswith("of 6")  # LSLR has no ARE: not ranked
    assert np.isnan(are["LSLR a=0.4"])
    assert "LSLR a=0.4: no ARE" in md_text
    rob = scores[scores.metric.str.startswith("worst-case SoB")].iloc[0]
    assert rob["scaled_savage:s=2 (new)"] < rob["LR"]  # bounded loss, smaller worst-case bias

    prov = json.loads((out / "compare.provenance.json").read_text())
    assert prov["seed"] == 3 and prov["settings"] == "quick"
    assert prov["new_loss_info"]["derivatives"] == "phi', phi'' by torch float64 autodiff"
    assert set(prov["wall_time_s"]) == {"are", "influence", "robustness", "efficiency", "realdata", "nn"}
    assert prov["total_wall_time_s"] < 90

    probe = _browser_probe(out / "report.html", tmp_path)
    assert probe["errors"] == []
    assert probe["n"] == len(figures)
    for img in probe["imgs"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0 and img["shown_w"] > 0 and img["shown_h"] > 0


def test_browser_probe_detects_a_broken_figure(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head></head><body><img src='data:image/png;base64,AAAA'></body></html>")
    probe = _browser_probe(page, tmp_path)
    assert probe["n"] == 1 and probe["imgs"][0]["w"] == 0


def test_same_results_for_the_same_seed_and_kclass_part(user_module, tmp_path):
    spec = resolve_new_loss(f"{user_module}:with_kclass")
    assert spec == "with_kclass"
    kw = dict(quick=True, criteria="robustness", progress=False)
    a = run_compare(spec, ["lr"], out=tmp_path / "a", **kw)
    b = run_compare(spec, ["lr"], out=tmp_path / "b", **kw)
    pd.testing.assert_frame_equal(a.criterion("robustness").table("robustness"),
                                  b.criterion("robustness").table("robustness"))
    methods = {spec: registry.parse_loss_spec(spec), "lr": registry.parse_loss_spec("lr"),
               "by": registry.parse_loss_spec("by")}
    ctx = Context(new=spec, methods=methods, settings={"digits": ("small_cnn", 1, 1)}, seed=0,
                   figdir=tmp_path / "fig", progress=False, data_dir=None, device="cpu")
    ctx.figdir.mkdir()
    sec = criterion_nn(ctx)
    assert isinstance(sec, Section) and (ctx.figdir / "nn.png").stat().st_size > 0
    runs = sec.table("nn_runs")
    assert sorted(runs.method) == ["LR", "with_kclass (new)"]
    assert runs.test_ttr.between(0, 1).all()
    assert any("BY: no K-class form" in n for n in sec.notes)


def test_bad_input_is_reported(user_module, tmp_path, capsys):
    assert main(["compare", "--loss", "nosuchpkg.mod:obj", "--quick", "--out", str(tmp_path)]) == 2
    assert "module 'nosuchpkg' was not found" in capsys.readouterr().err
    assert main(["compare", "--loss", f"{user_module}:scaled_savage", "--criteria", "are,bogus",
                 "--out", str(tmp_path)]) == 2
    assert "argument --criteria: unknown 'bogus'; allowed: are," in capsys.readouterr().err
    with pytest.raises(ValueError, match="seed"):
        run_compare("lr", seed=-1)
    comp = run_compare(f"{user_module}:scaled_savage", ["lr", "lsqlr"], criteria="are", out=tmp_path / "s",
                       progress=False)
    ranking, _ = summary_table(comp)
    assert list(ranking["rank"]) == ["2 of 3", "2 of 3"]  # Savage ties LSQLR, behind LR


def test_a_rerun_with_other_criteria_leaves_no_stale_tables_or_figures(user_module, tmp_path):
    from lsis_robust.compare import write_report

    out = tmp_path / "r"
    first = run_compare(f"{user_module}:scaled_savage", ["lr"], criteria="are,influence", out=out, progress=False)
    write_report(first)
    influence_files = {p.name for p in (out / "tables").iterdir() if "influence" in p.name}
    influence_figures = {p.name for p in (out / "figures").iterdir() if "influence" in p.name}
    assert influence_files and influence_figures
    second = run_compare(f"{user_module}:scaled_savage", ["lr"], criteria="are", out=out, progress=False)
    write_report(second)
    left = {p.name for p in (out / "tables").iterdir()} | {p.name for p in (out / "figures").iterdir()}
    written = {f"{stem}.{ext}" for stem in ["summary", "scores"] + [t.stem for s in second.sections for t in s.tables]
               for ext in ("csv", "md", "tex")} | {f.file for s in second.sections for f in s.figures}
    assert left == written
    assert not (influence_files | influence_figures) & left


def test_sections_name_their_tables_figures_and_scores(tmp_path):
    from lsis_robust.compare import Comparison, Figure, Score, Table

    frame = pd.DataFrame({"method": ["LR"], "value": [1.0]})
    sec = Section("are", "ARE", "d", tables=[Table("are", "caption", frame)], figures=[Figure("are.png", "c")],
                  scores=[Score("mean ARE", "higher", {"lr": 1.0})])
    comp = Comparison("lr", {}, [sec], "quick", 0, tmp_path)
    assert comp.criterion("are").table("are") is frame
    assert comp.criterion("are").score("mean ARE").values == {"lr": 1.0}
    with pytest.raises(KeyError, match="no table in section 'are' named 'summary'; this one has 'are'"):
        sec.table("summary")
    with pytest.raises(KeyError, match="no criterion 'nn'"):
        comp.criterion("nn")
    with pytest.raises(ValueError, match="'higher' or 'lower'"):
        Score("m", "bigger", {})
