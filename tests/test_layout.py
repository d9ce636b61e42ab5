"""The package's shape: every module documented, imports alone, and stages import downstream only.

The collector is one package per stage of the data flow (docs/architecture.md).
These tests keep that true as code is added: a module that reaches upstream,
or two modules that need each other, fail here with the edge named.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "metricslib"

# Lower layers never import higher ones. The SDK sits at the bottom: the
# collector reuses its text-format rules, the SDK never imports the collector.
LAYERS: dict[str, int] = {
    "sdk": 0,
    "model": 1,
    "config": 2,
    "textparse": 2,
    "promql/parser": 2,
    "template": 2,
    "discovery": 3,
    "storage": 3,
    "storage/remote": 4,
    "scrape": 4,
    "promql": 4,
    "notifier": 4,
    "rules": 5,
    "web/api": 6,
    "web/ui": 6,
    "web": 7,
    "querypool": 7,
    "top": 8,
}

# Packages whose sub-packages are stages of their own.
_NESTED = {"storage", "promql", "web"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def stage_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] != "collector":
        return "sdk"
    if len(parts) == 2 or (ROOT / "collector" / f"{parts[2]}.py").exists():
        return "top"
    if parts[2] in _NESTED and len(parts) > 3 and (ROOT / "collector" / parts[2] / parts[3]).is_dir():
        return f"{parts[2]}/{parts[3]}"
    return parts[2]


def _import_targets(module: str, path: Path) -> Iterator[str]:
    """Modules imported when ``module`` is imported (not in functions, not TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    yield from visit(node.body)
                    yield from visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    yield from visit(block)
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names if alias.name in MODULES)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in MODULES:
                        yield full
                    elif base in MODULES:
                        yield base

    yield from visit(ast.parse(path.read_text(encoding="utf-8")).body)


GRAPH = {module: sorted(set(_import_targets(module, path))) for module, path in MODULES.items()}


def test_every_module_has_a_docstring() -> None:
    missing = [m for m, p in MODULES.items() if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None]
    assert missing == []


def test_every_collector_package_is_a_known_stage() -> None:
    unknown = sorted({stage_of(m) for m in MODULES} - set(LAYERS))
    assert unknown == [], "add the new stage to LAYERS (and docs/architecture.md)"


def _upstream_edges() -> list[str]:
    return [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if stage_of(a) != stage_of(b) and LAYERS[stage_of(b)] >= LAYERS[stage_of(a)]
    ]


def test_stages_import_downstream_only() -> None:
    assert _upstream_edges() == []


def test_an_upstream_import_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    model = "metricslib.collector.model.labels"
    monkeypatch.setitem(GRAPH, model, [*GRAPH[model], "metricslib.collector.web.server"])
    assert _upstream_edges() == [f"{model} -> metricslib.collector.web.server"]


def test_stage_names_follow_the_tree() -> None:
    assert stage_of("metricslib.registry") == "sdk"
    assert stage_of("metricslib.collector.server") == "top"
    assert stage_of("metricslib.collector.storage.store") == "storage"
    assert stage_of("metricslib.collector.storage.remote.write") == "storage/remote"
    assert stage_of("metricslib.collector.promql.parser.lexer") == "promql/parser"
    assert stage_of("metricslib.collector.web.api.v1") == "web/api"


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            connect(module)
    return found


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_cycle_finder_sees_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "metricslib.errors", [*GRAPH["metricslib.errors"], "metricslib.registry"])
    monkeypatch.setitem(GRAPH, "metricslib.registry", [*GRAPH["metricslib.registry"], "metricslib.errors"])
    assert any({"metricslib.errors", "metricslib.registry"} <= set(c) for c in _cycles())


def test_each_module_imports_alone() -> None:
    # One interpreter, a clean slate of metricslib modules before each import:
    # an order-dependent import (a hidden cycle) fails for the module that starts it.
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'metricslib' or m.startswith('metricslib.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(failed))\n"
    )
    modules = [m for m in MODULES if not m.endswith("__main__")]
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script, *modules],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_sdk_does_not_load_the_collector() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, metricslib, metricslib.flask, metricslib.asgi, metricslib.wsgi;"
         "print(sorted(m for m in sys.modules if m.startswith('metricslib.collector') or m in ('numpy', 'yaml')))"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert done.stdout.strip() == "[]"
