"""The facade's pinned dependencies on generated/ (`FACADE_OPERATIONS` in
src/posthog_persons/_operations.py), checked against a freshly generated package.

The file is read with `ast.literal_eval`, never imported: the pipeline must not depend on the
facade (or on the old generated package it imports) being importable. A regeneration that
renames or drops an operation, or a function the facade calls, is refused here, so the break
shows in the pipeline's list and not as an ImportError in the facade after the fact.
"""

from __future__ import annotations

import ast
from pathlib import Path

from . import PipelineError
from .generate import module_functions

PINS_NAME = "FACADE_OPERATIONS"


def load_pins(path: Path) -> dict[str, tuple[str, ...]]:
    """operation id -> the module functions the facade calls, from the literal in `path`."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except FileNotFoundError:
        raise PipelineError(f"the facade's pins file is missing: {path}") from None
    except SyntaxError as exc:
        raise PipelineError(f"{path} is not valid Python: {exc.msg} (line {exc.lineno})") from None
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == PINS_NAME:
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                raise PipelineError(f"{path}: {PINS_NAME} must be a literal dict") from None
            return _checked(literal, path)
    raise PipelineError(f"{path} defines no {PINS_NAME}")


def _checked(value: object, path: Path) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
        isinstance(op, str)
        and isinstance(functions, tuple)
        and all(isinstance(f, str) for f in functions)
        for op, functions in value.items()
    ):
        raise PipelineError(
            f"{path}: {PINS_NAME} must map operation ids (str) to tuples of function names"
        )
    return dict(value)


def missing_pins(package: Path, pins: dict[str, tuple[str, ...]]) -> list[str]:
    """What the facade calls and the generated package at `package` lacks, one line each."""
    modules = module_functions(package)
    problems = []
    for operation_id, functions in sorted(pins.items()):
        defined = modules.get(operation_id)
        if defined is None:
            problems.append(f"the facade uses operation {operation_id}, which is not generated")
            continue
        lacking = [f for f in functions if f not in defined]
        if lacking:
            problems.append(f"the facade calls {operation_id}.{', '.join(lacking)}, not generated")
    return problems
