"""Publish the asv history as a site that needs no network: ``asv publish``, then local copies of its CDN assets.

asv's page loads jQuery, flot, bootstrap and three small plugins from CDNs;
offline it shows only "Can not determine continental origin of swallow".
This script runs ``asv publish`` and then, in the HTML folder,

- copies the files vendored in ``scripts/asv_www/`` (their sources, versions
  and licences are in its manifest.json and README.md) to ``vendor/``, after
  checking each against the sha256 its manifest records;
- points index.html at those copies, and refuses to finish if the page still
  names a URL that is not vendored (a newer asv may add one);
- bundles the site's JSON into ``offline-data.js``, which ``vendor/offline.js``
  serves to asv's requests when the page is opened from disk (file://), where
  browsers refuse XMLHttpRequest.

Usage (from a source checkout, in the environment that has asv)::

    python -m lsis_robust.bench.asv_publish [--html-dir DIR]

The default folder is asv.conf.json's html_dir (results/asv/html).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import REPO_ROOT, repository_path

VENDOR = REPO_ROOT / "scripts" / "asv_www"
MANIFEST = VENDOR / "manifest.json"

# A tag that makes the browser load a resource from another host.  <a href> is a link the reader may follow,
# not a request of the page, so it stays (asv's own link to its project page).
EXTERNAL_TAG = re.compile(r"<(script|link)\b[^>]*?\b(?:src|href)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?",
                          re.I)
EXTERNAL_SRC = re.compile(r"\bsrc=\"(?:https?:)?//", re.I)


class PublishError(RuntimeError):
    """The site could not be made to work offline; the message says what to do."""


def load_manifest(manifest: Path = MANIFEST) -> list[dict]:
    """The vendored assets, each checked against the sha256 that the manifest records."""
    try:
        assets = json.loads(manifest.read_text())["assets"]
    except (OSError, ValueError, KeyError) as exc:
        raise PublishError(f"cannot read the vendored-asset manifest {manifest}: {exc}") from exc
    for asset in assets:
        path = manifest.parent / asset["file"]
        if not path.is_file():
            raise PublishError(f"vendored asset {path} is missing")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != asset["sha256"]:
            raise PublishError(f"vendored asset {path} has sha256 {digest}, the manifest records {asset['sha256']}")
        if not (manifest.parent / asset["licence"]).is_file():
            raise PublishError(f"licence {asset['licence']} of {asset['file']} is missing")
    return assets


def _local_tag(kind: str, asset: dict) -> str:
    # No integrity/crossorigin: a page opened from disk has an opaque origin, under which the browser would refuse
    # a crossorigin load; the copies are checked against the manifest's sha256 before they are copied instead.
    src = f"vendor/{asset['file']}"
    if kind.lower() == "link":
        return f'<link rel="stylesheet" href="{src}">'
    return f'<script src="{src}" onerror="js_load_failure()"></script>'


def rewrite_index(text: str, assets: list[dict]) -> str:
    """index.html with every CDN tag pointed at its vendored copy, and the offline data source after jQuery."""
    by_url = {a["url"]: a for a in assets if a["url"]}
    unknown = []

    def replace(match: re.Match) -> str:
        kind, url = match.group(1), match.group(2)
        if url not in by_url:
            unknown.append(url)
            return match.group(0)
        tag = _local_tag(kind, by_url[url])
        if by_url[url]["file"].startswith("js/jquery-"):
            tag += '\n    <script src="vendor/offline.js"></script>\n    <script src="offline-data.js"></script>'
        return tag

    text = EXTERNAL_TAG.sub(replace, text)
    if unknown:
        raise PublishError("asv's index.html loads " + ", ".join(unknown) + ", which scripts/asv_www/ does not "
                           "vendor; add it to scripts/asv_www/manifest.json (see scripts/asv_www/README.md)")
    if "vendor/offline.js" not in text:
        raise PublishError("asv's index.html loads no jQuery that scripts/asv_www/ vendors; the offline data "
                           "source needs it")
    return text


def make_offline(html_dir: Path, assets: list[dict] | None = None) -> None:
    """Turn a folder that ``asv publish`` wrote into a site that loads nothing from the network."""
    html_dir = Path(html_dir)
    index = html_dir / "index.html"
    if not index.is_file():
        raise PublishError(f"{index} does not exist; run asv publish first")
    assets = load_manifest() if assets is None else assets
    vendor = html_dir / "vendor"
    if vendor.exists():
        shutil.rmtree(vendor)
    for asset in assets:
        for rel in (asset["file"], asset["licence"]):
            (vendor / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(VENDOR / rel, vendor / rel)
    for name in ("offline.js", "README.md", "manifest.json"):
        shutil.copyfile(VENDOR / name, vendor / name)
    index.write_text(rewrite_index(index.read_text(encoding="utf-8"), assets), encoding="utf-8")

    data = {p.relative_to(html_dir).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(html_dir.rglob("*.json")) if vendor not in p.parents}
    (html_dir / "offline-data.js").write_text(
        "/* Written by lsis_robust.bench.asv_publish: the site's JSON, for vendor/offline.js. */\n"
        f"window.ASV_OFFLINE_DATA = {json.dumps(data)};\n", encoding="utf-8")

    for page in html_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        left = [m.group(2) for m in EXTERNAL_TAG.finditer(text)] + EXTERNAL_SRC.findall(text)
        if left:
            raise PublishError(f"{page} still loads from the network: {', '.join(left)}")


def publish(html_dir: Path | None = None) -> Path:
    """``asv publish`` (into ``html_dir``, else asv.conf.json's html_dir), then :func:`make_offline`."""
    assets = load_manifest()  # before asv runs, so a broken vendor folder costs nothing
    config = repository_path("asv.conf.json")
    cmd = [sys.executable, "-m", "asv", "publish", "--config", str(config)]
    if html_dir is not None:
        cmd += ["--html-dir", str(Path(html_dir).resolve())]
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PublishError(f"asv publish failed (exit {res.returncode}): {tail[0]}")
    if html_dir is None:
        conf = json.loads(re.sub(r"^\s*//.*$", "", config.read_text(), flags=re.M))
        html_dir = REPO_ROOT / conf["html_dir"]
    make_offline(Path(html_dir), assets)
    return Path(html_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lsis_robust.bench.asv_publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", type=Path, help="output folder (default: html_dir of asv.conf.json)")
    args = parser.parse_args(argv)
    try:
        out = publish(args.html_dir)
    except PublishError as exc:
        print(f"asv_publish: {exc}", file=sys.stderr)
        return 1
    print(f"published {out / 'index.html'} (opens from disk; or serve it with `asv preview`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
