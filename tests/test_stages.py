"""The stages of ``napari_das.core`` stay in order: a module imports only from its own or an
earlier stage (module-level and function-level imports alike), the import graph has no cycle and
no private name crosses a module boundary.  Checked on the source (no import needed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "napari_das" / "core"
#: The stages in import order; the base modules at core/ top come first.
STAGES = ("base", "io", "data", "nn", "post", "inference", "evaluation", "training")
BASE = ("errors", "progress", "timebase", "config", "presets")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def is_shim(name: str) -> bool:
    """The deprecated aliases at the old paths (and their helper) belong to no stage."""
    path = MODULES.get(name)
    return path is not None and path.parent == CORE and path.name != "__init__.py" and \
        path.stem not in BASE


def stage(name: str) -> int:
    parts = name.split(".")
    if len(parts) < 3 or parts[2] in BASE:
        return 0
    return STAGES.index(parts[2]) if parts[2] in STAGES else -1  # -1: a deprecated alias


def imports(name: str) -> list[tuple[str, list[str], int]]:
    """``(module, imported names, line)`` for every import of ``napari_das`` code in a module."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno))
            continue
        else:
            continue
        if target.startswith("napari_das"):
            found.append((target, names, node.lineno))
    return found


def edges(name: str) -> set[str]:
    """Modules of ``napari_das.core`` that ``name`` imports (a submodule for ``from pkg import m``)."""
    out = set()
    for target, names, _ in imports(name):
        subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
        out.update(subs or ([target] if target in MODULES else []))
    return {t for t in out if t.startswith("napari_das.core") and t != name}


STAGED = sorted(n for n in MODULES if not is_shim(n))


def test_every_top_level_module_is_base_or_a_deprecated_alias():
    for name in MODULES:
        if is_shim(name) and name != "napari_das.core.deprecated":
            assert any(t == "napari_das.core" and "deprecated" in names
                       for t, names, _ in imports(name)), f"{name} is neither a stage nor a shim"


@pytest.mark.parametrize("name", STAGED)
def test_imports_only_from_its_own_or_earlier_stages(name):
    late = [f"{t} (line {line})" for t, _, line in imports(name)
            if t.startswith("napari_das.core") and stage(t) > stage(name)]
    late += [f"{e} (a deprecated alias)" for e in edges(name) if is_shim(e)]
    assert not late, f"{name} ({STAGES[stage(name)]}) imports later stages: {late}"


def test_no_import_cycles():
    graph = {n: edges(n) & set(STAGED) for n in STAGED}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in STAGED:
        if node not in state:
            visit(node)


def test_no_private_name_is_imported_across_modules():
    private = [f"{name}: from {t} import {n} (line {line})"
               for name in MODULES for t, names, line in imports(name)
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private


def test_the_checks_can_fail():
    """The helpers see late imports and cycles (a check that sees nothing proves nothing)."""
    assert stage("napari_das.core.training.train") > stage("napari_das.core.inference.predict")
    assert "napari_das.core.inference.predict" in edges("napari_das.core.evaluation.split_predict")
    assert "napari_das.core.io.audio" in edges("napari_das.core.data.dataset")
    assert is_shim("napari_das.core.predict") and not is_shim("napari_das.core.config")
