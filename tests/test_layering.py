"""The package's imports go one way: no module imports one that imports it back.

Every import statement counts, those inside functions too (a lazy import only
postpones a cycle to the first call), and importing ``a.b.c`` counts as
importing the packages ``a.b`` whose ``__init__`` runs first.  The package
root, ``lsis_robust/__init__.py``, only re-exports the public API; it is the
one module allowed to import anything, and importing it is not counted (a
relative ``from . import x`` names ``x``, not the root).

The layers of README's layout table are checked too: a module of a lower
layer never imports one of a higher layer.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lsis_robust"
PACKAGE = "lsis_robust"

# README, "Layout": each layer may import only the layers listed before it.
LAYERS = [
    ["lsis_robust._validation", "lsis_robust.paper", "lsis_robust._smoothing"],
    ["lsis_robust.losses", "lsis_robust.kclass_losses"],
    ["lsis_robust.user_loss"],
    ["lsis_robust.registry"],
    ["lsis_robust._linear_loss"],
    ["lsis_robust._solver"],
    ["lsis_robust.fitting", "lsis_robust._identifiability"],
    ["lsis_robust.estimators", "lsis_robust.probability", "lsis_robust.metrics", "lsis_robust.reporting"],
    ["lsis_robust.theory", "lsis_robust.contamination", "lsis_robust.studies", "lsis_robust.nn",
     "lsis_robust.compare", "lsis_robust.report", "lsis_robust.bench", "lsis_robust.cli"],
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _with_parents(name: str, importer: str, modules) -> set[str]:
    """``name`` and the packages whose ``__init__`` importing it runs: not the root, and not the importer's own
    packages (their ``__init__`` has already started when the importer runs)."""
    out, parts = set(), name.split(".")
    for k in range(2, len(parts) + 1):
        candidate = ".".join(parts[:k])
        if candidate in modules and (k == len(parts) or not importer.startswith(candidate + ".")):
            out.add(candidate)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                # "from pkg import sub" imports the submodule pkg.sub when it is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                if target == PACKAGE or not target.startswith(PACKAGE + "."):
                    continue
                edges |= _with_parents(target, name, modules)
        edges.discard(name)
        graph[name] = edges
    graph.pop(PACKAGE, None)
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    # estimators imports the losses at module level; the study modules import the fitting API
    assert "lsis_robust.losses" in graph["lsis_robust.estimators"]
    assert any(t.startswith("lsis_robust.fitting") for t in graph["lsis_robust.studies.robustness"])


def test_no_import_cycle():
    cycles = _cycles(import_graph())
    assert not cycles, "modules that import each other (directly or through others): " + "; ".join(
        " <-> ".join(c) for c in cycles)


def _layer(module):
    for i, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return i
    return None


@pytest.mark.parametrize("lower", [m for layer in LAYERS[:-1] for m in layer])
def test_lower_layers_do_not_import_upper_ones(lower):
    graph = import_graph()
    assert lower in graph, f"{lower} is named in the layering but does not exist"
    own = _layer(lower)
    upward = sorted(t for t in graph[lower] if (_layer(t) or -1) > own)
    assert not upward, f"{lower} (layer {own}) imports higher layers: {upward}"
