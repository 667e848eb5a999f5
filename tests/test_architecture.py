"""The layering of docs/architecture.md, checked on the source: bot and jobs -> core -> storage, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("bot", "core", "jobs", "storage")
# What each part may import of the others (jobs may use bot's notifier).
ALLOWED = {
    "storage": set(),
    "core": {"storage"},
    "bot": {"core", "storage"},
    "jobs": {"core", "storage", "bot"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, TYPE_CHECKING imports and imports inside functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from core import actions`` imports the module core.actions.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    files = [f for part in PARTS for f in (ROOT / part).rglob("*.py")]
    modules = {_module_name(f): f for f in files}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


@pytest.mark.parametrize("part", PARTS)
def test_dependencies_point_inward(part: str) -> None:
    wrong = {
        (module, dep)
        for module, deps in _graph().items()
        if module.split(".")[0] == part
        for dep in deps
        if dep.split(".")[0] != part and dep.split(".")[0] not in ALLOWED[part]
    }
    assert not wrong, f"{part} must not import these: {sorted(wrong)}"


# core's packages, lowest first: each may import the ground and those before it, never one after.
CORE_STACK = ("ground", "model", "sync", "access", "planning", "coaching", "conversation", "runtime")


def _core_layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in CORE_STACK):
        return parts[1]
    return "runtime" if module == "core.runtime" else "ground"


def test_core_packages_form_a_stack() -> None:
    wrong = sorted(
        (module, dep)
        for module, deps in _graph().items()
        if module.startswith("core.")
        for dep in deps
        if dep.startswith("core.")
        and CORE_STACK.index(_core_layer(dep)) > CORE_STACK.index(_core_layer(module))
    )
    assert not wrong, f"core imports against the stack {' < '.join(CORE_STACK)}: {wrong}"


def test_every_core_module_is_in_a_package_or_the_ground() -> None:
    ground = {p.stem for p in (ROOT / "core").glob("*.py")} - {"__init__", "runtime"}
    assert ground == {
        "actions",
        "cache",
        "clock",
        "config",
        "durations",
        "errors",
        "feedback",
        "fields",
        "logs",
        "messages",
        "metrics",
    }, "a new capability gets its own module in the package it belongs to"


def test_no_import_circles() -> None:
    graph = _graph()
    # A module's package __init__ imports nothing circular by itself; edges to packages are kept.
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                circles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)
