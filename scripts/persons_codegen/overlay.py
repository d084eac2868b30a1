"""A small OpenAPI Overlay 1.0 applier that reports stale actions.

No maintained Python library applies Overlay documents; the JSONPath selection (RFC 9535,
including union selectors such as `$.paths['/a/','/b/']`) is python-jsonpath's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpath
import yaml

from . import PipelineError


@dataclass(frozen=True)
class ActionOutcome:
    index: int
    target: str
    description: str
    matched: int
    changed: bool

    @property
    def stale(self) -> bool:
        """True when the action no longer corrects anything: upstream fixed or moved it."""
        return self.matched == 0 or not self.changed

    @property
    def why_stale(self) -> str:
        if self.matched == 0:
            return "its target matches nothing"
        return "it changes nothing (upstream already says this)"


def load_overlay(path: Path) -> dict[str, Any]:
    try:
        overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"overlay not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"overlay {path} is not valid YAML: {exc}") from None
    if not isinstance(overlay, dict) or not str(overlay.get("overlay", "")).startswith("1."):
        raise PipelineError(f"{path} is not an Overlay 1.x document (no 'overlay: 1.0.0')")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise PipelineError(f"overlay {path} has no actions")
    for number, action in enumerate(actions, 1):
        if not isinstance(action, dict) or "target" not in action:
            raise PipelineError(f"overlay action {number} has no target")
        if ("update" in action) == bool(action.get("remove")):
            raise PipelineError(f"overlay action {number} needs exactly one of update / remove")
    return overlay


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    """Overlay `update` semantics: objects merge recursively, anything else is replaced."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _container(document: Any, parts: tuple[Any, ...]) -> Any:
    node = document
    for part in parts:
        node = node[part]
    return node


def _apply_update(node: Any, update: Any) -> bool:
    """Apply one update to one matched node in place; return whether it changed."""
    if isinstance(node, list):
        # An update whose target is an array appends one entry; an equal entry already there
        # means upstream has it, so the action is stale rather than a duplicate.
        if update in node:
            return False
        node.append(copy.deepcopy(update))
        return True
    if isinstance(node, dict) and isinstance(update, dict):
        before = copy.deepcopy(node)
        _merge(node, update)
        return node != before
    raise PipelineError(f"cannot merge {type(update).__name__} into {type(node).__name__}")


def apply_overlay(
    document: dict[str, Any], overlay: dict[str, Any]
) -> tuple[dict[str, Any], list[ActionOutcome]]:
    """Apply every action in order to a copy of `document`."""
    result = copy.deepcopy(document)
    outcomes: list[ActionOutcome] = []
    for index, action in enumerate(overlay["actions"], 1):
        target = str(action["target"]).strip()
        try:
            matches = list(jsonpath.finditer(target, result))
        except jsonpath.JSONPathError as exc:
            raise PipelineError(f"overlay action {index}: bad JSONPath {target!r}: {exc}") from None
        changed = False
        if action.get("remove"):
            # Delete the deepest and highest-indexed matches first so earlier indices stay valid.
            for match in sorted(matches, key=lambda m: m.parts, reverse=True):
                parent = _container(result, match.parts[:-1])
                del parent[match.parts[-1]]
                changed = True
        else:
            for match in matches:
                changed |= _apply_update(match.obj, action["update"])
        outcomes.append(
            ActionOutcome(
                index=index,
                target=target,
                description=" ".join(str(action.get("description", "")).split()),
                matched=len(matches),
                changed=changed,
            )
        )
    return result, outcomes


def stale_report(outcomes: list[ActionOutcome]) -> str:
    lines = [
        f"- action {o.index} ({o.description or o.target}): {o.why_stale}\n    target: {o.target}"
        for o in outcomes
        if o.stale
    ]
    return "\n".join(lines)
