"""The committed asv history: at least 20 commits of main, published by lsis_robust.bench.asv_publish into a site
that a headless chromium shows without a network, opened from disk and served over http, with a point for every
commit."""
import base64
import functools
import hashlib
import html
import http.server
import json
import math
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lsis_robust.bench import asv_publish

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "asv"
# One time_ and one track_ benchmark that the committed history has for every commit (see docs/asv.md).
GRAPHED = ["bench_theory.TableI.time_table1", "bench_theory.TableI.track_table1_max_abs_deviation"]


def _machines():
    """{machine: [result file, ...]} of the committed history (asv writes machine.json beside the results)."""
    return {d.name: sorted(p for p in d.glob("*.json") if p.name != "machine.json")
            for d in sorted(RESULTS.iterdir()) if (d / "machine.json").is_file()}


def _has_value(path, benchmark):
    entry = json.loads(path.read_text())["results"].get(benchmark)
    return entry is not None and any(v is not None and not math.isnan(v) for v in entry[0])


def _expected_points(benchmark):
    return sorted(sum(_has_value(p, benchmark) for p in files) for files in _machines().values())


def test_committed_history_covers_twenty_commits_of_main():
    machines = _machines()
    assert machines, "results/asv holds no machine's results"
    first_parent = set(subprocess.run(["git", "rev-list", "--first-parent", "main"], cwd=ROOT, capture_output=True,
                                      text=True, check=True).stdout.split())
    for machine, files in machines.items():
        info = json.loads((RESULTS / machine / "machine.json").read_text())
        assert info["machine"] == machine
        for path in files:
            commit = json.loads(path.read_text())["commit_hash"]
            # asv graphs a branch along its first parents: a result for any other commit would never be shown
            assert commit in first_parent, f"{path.name}: {commit} is not on main's first-parent history"
    for benchmark in GRAPHED:
        assert max(_expected_points(benchmark)) >= 20, f"{benchmark}: fewer than 20 commits in every machine"


def test_the_graphed_benchmarks_are_unchanged_since_the_history_was_run():
    # asv publish drops results whose benchmark source hash differs from benchmarks.json's
    current = json.loads((RESULTS / "benchmarks.json").read_text())
    for machine, files in _machines().items():
        for path in files:
            result = json.loads(path.read_text())
            column = result["result_columns"].index("version")
            for benchmark in GRAPHED:
                if _has_value(path, benchmark):
                    assert result["results"][benchmark][column] == current[benchmark]["version"], (
                        f"{benchmark} changed since {machine}/{path.name} was run; its history is hidden until "
                        f"`RERUN=1 bash scripts/asv_history.sh {machine} {len(files)}` runs it again")


def _asv_index_html():
    import asv

    return (Path(asv.__file__).parent / "www" / "index.html").read_text()


def test_every_cdn_url_of_asv_is_vendored_and_the_identical_ones_match_its_integrity_hashes():
    assets = asv_publish.load_manifest()
    by_url = {a["url"]: a for a in assets if a["url"]}
    page = _asv_index_html()
    tags = asv_publish.EXTERNAL_TAG.findall(page)
    assert len(tags) == 10  # jQuery, 4 flot files, orderBars, stupidtable, md5, bootstrap's js and css
    for _, url in tags:
        assert url in by_url, f"asv's page loads {url}, which is not vendored"
        asset = by_url[url]
        tag = re.search(r"<[^>]*" + re.escape(url) + r"[^>]*>", page).group(0)
        algo, _, expected = re.search(r'integrity="([^"]+)"', tag).group(1).partition("-")
        data = (asv_publish.VENDOR / asset["file"]).read_bytes()
        same = base64.b64encode(hashlib.new(algo, data).digest()).decode() == expected
        assert same == asset["identical_to_url"], f"{asset['file']}: identical_to_url says {not same}"
    assert sum(a["identical_to_url"] is True for a in assets) == 5


def test_a_tampered_or_missing_vendored_file_is_refused(tmp_path):
    copy = tmp_path / "asv_www"
    shutil.copytree(asv_publish.VENDOR, copy)
    (copy / "js" / "md5.min.js").write_text("alert(1)")
    with pytest.raises(asv_publish.PublishError, match=r"md5\.min\.js has sha256"):
        asv_publish.load_manifest(copy / "manifest.json")
    (copy / "js" / "md5.min.js").unlink()
    with pytest.raises(asv_publish.PublishError, match=r"md5\.min\.js is missing"):
        asv_publish.load_manifest(copy / "manifest.json")
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(asv_publish.PublishError, match="cannot read the vendored-asset manifest"):
        asv_publish.load_manifest(copy / "manifest.json")


def test_a_page_that_loads_an_unvendored_url_is_refused(tmp_path):
    page = _asv_index_html().replace(
        "</head>", '<script src="https://cdn.example.org/new-plugin.js" crossorigin="anonymous"></script></head>')
    with pytest.raises(asv_publish.PublishError, match=r"https://cdn\.example\.org/new-plugin\.js"):
        asv_publish.rewrite_index(page, asv_publish.load_manifest())
    with pytest.raises(asv_publish.PublishError, match="run asv publish first"):
        asv_publish.make_offline(tmp_path)


def test_a_failing_publish_is_one_line_on_stderr(tmp_path):
    # --html-dir inside a regular file: asv cannot write there
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = subprocess.run([sys.executable, "-m", "lsis_robust.bench.asv_publish", "--html-dir", str(blocker / "x")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert res.stderr.startswith("asv_publish: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr


# Runs before the page's own scripts: records errors, then waits for asv's main graph to hold data and writes
# its series' point counts, the resources the page loaded and any element that points off the page's host.
PROBE = """<script>
window.__errs = [];
window.addEventListener('error', function (e) {
  window.__errs.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
function __lsisReport(tries) {
  var plot = window.jQuery && jQuery('#main-graph').data('plot');
  var ready = plot && plot.getData().some(function (s) { return s.data.length > 0; });
  if (!ready && tries < 150) { setTimeout(function () { __lsisReport(tries + 1); }, 100); return; }
  var external = [];
  document.querySelectorAll('[src], link[href]').forEach(function (el) {
    var url = new URL(el.src || el.href, location.href);
    if (url.protocol.indexOf('http') === 0 && url.host !== location.host) external.push(url.href);
  });
  var out = {errors: window.__errs, external: external, origin: location.origin,
             resources: performance.getEntriesByType('resource').map(function (r) { return r.name; }),
             series: plot ? plot.getData().map(function (s) {
               return s.data.filter(function (p) { return p && p[1] !== null && !isNaN(p[1]); }).length;
             }) : null};
  var d = document.createElement('pre'); d.id = 'lsis-probe'; d.textContent = JSON.stringify(out);
  document.body.appendChild(d);
}
window.addEventListener('load', function () { setTimeout(function () { __lsisReport(0); }, 100); });
</script>"""


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed; run scripts/install_chromium.sh (the asv test needs a real browser)")
    return exe


def _probe(site, url, profile):
    """Load ``url`` (of probe.html in ``site``) with every host but 127.0.0.1 unresolvable and a dead proxy, so
    that any request that leaves the machine fails."""
    (site / "probe.html").write_text((site / "index.html").read_text().replace("<head>", "<head>" + PROBE, 1))
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9",
           f"--user-data-dir={profile}", "--window-size=1280,1000", "--virtual-time-budget=20000", "--dump-dom", url]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="lsis-probe">(.*?)</pre>', res.stdout, re.S)
    return json.loads(html.unescape(match.group(1))) if match else None


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    site = tmp_path_factory.mktemp("asv-html")
    asv_publish.publish(site)
    return site


@pytest.fixture
def served(request):
    """Serve a folder on 127.0.0.1 (as `asv preview` does) and give its base URL."""
    def serve(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        request.addfinalizer(server.shutdown)
        return f"http://127.0.0.1:{server.server_address[1]}/"
    return serve


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("benchmark", GRAPHED)
@pytest.mark.parametrize("mode", ["file", "http"])
def test_published_graph_shows_every_commit_without_a_network(published, served, benchmark, mode, tmp_path):
    base = published.as_uri() + "/" if mode == "file" else served(published)
    probe = _probe(published, f"{base}probe.html#{benchmark}", tmp_path / "profile")
    assert probe is not None, "the page never reached its graph (a script failed to load and asv left for error.html)"
    assert probe["errors"] == []
    assert probe["external"] == []
    assert all(name.startswith(probe["origin"] if mode == "http" else "file://") for name in probe["resources"])
    assert sorted(probe["series"]) == _expected_points(benchmark)
    assert max(probe["series"]) >= 20


def test_without_the_offline_step_the_page_shows_no_graph_offline(served, tmp_path):
    # The control: asv's own page, served the same way, depends on its CDNs, so the probe above can fail.
    site = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(ROOT / "asv.conf.json"),
                    "--html-dir", str(site)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    probe = _probe(site, f"{served(site)}probe.html#{GRAPHED[0]}", tmp_path / "profile")
    assert probe is None or not probe["series"]
