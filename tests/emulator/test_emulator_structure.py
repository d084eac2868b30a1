"""The emulator's module structure: state, pipeline, handlers and adapters without a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from posthog_persons.testing import _pipeline, _routes

PACKAGE = Path(_pipeline.__file__).resolve().parent
ADAPTERS = {"_transport", "_server"}


def _imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, wherever in the file
    (module level, inside functions, under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "posthog_persons.testing."
            ):
                found.add((node.module or "").split(".")[2])
        graph[path.stem] = found
    return graph


def test_no_module_imports_itself_back() -> None:
    graph = _imports()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, "import cycle: " + " -> ".join([*visiting, module])
        if module in done:
            return
        visiting.append(module)
        for imported in graph.get(module, ()):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in graph:
        visit(module)
    assert {"_state", "_pipeline", "_reads", "_writes", "_fake"} <= set(graph)


def test_only_the_public_face_imports_the_adapters() -> None:
    graph = _imports()
    importers = {module for module, imported in graph.items() if imported & ADAPTERS}
    assert importers == {"_fake", "__init__"}
    # The adapters depend on the request/answer types only, never on FakePostHog.
    for adapter in ADAPTERS:
        assert graph[adapter] <= {"_http", "_contract"}, adapter


def test_the_package_imports_cleanly_in_a_fresh_interpreter() -> None:
    for module in (
        "posthog_persons.testing",
        *(f"posthog_persons.testing.{m}" for m in ("_transport", "_server", "_state", "_pipeline")),
    ):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def test_every_routed_action_has_a_handler() -> None:
    actions = {op.action for route in _routes.ROUTES for op in route.methods.values()}
    assert actions == set(_pipeline.HANDLERS)
