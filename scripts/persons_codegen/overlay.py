"""A small OpenAPI Overlay 1.0 applier that refuses stale and redundant actions.

No maintained Python library applies Overlay documents; the JSONPath selection (RFC 9535,
including unions and filters) is python-jsonpath's.

The overlay corrects what upstream gets wrong, and must never override upstream silently. So
every action is checked against the node it touches, at every match:

- `remove: true` deletes every match. It is **stale** when its target matches nothing.
- `update` (an object) is **add-only**: it deep-merges into the matched object, and every value
  it writes must land on a key upstream does not have. Writing a key upstream already has is
  **redundant**: with the same value, "upstream already says this"; with another value, the
  action would override upstream's own definition. Both fail the run. An `update` that adds an
  operation, a schema or a response upstream now defines itself is therefore refused.
- `update` with `x-replaces: true` sets, wholesale, each top-level key of `update` in the
  matched object (replacing upstream's value, or adding the key), and must name in its target
  a filter (`[?...]`) pinning the upstream value it replaces: when upstream changes that
  value, the target matches nothing and the action is stale, never a silent override. A key
  it sets to the value upstream already has makes it redundant.
- An `update` whose target is an array appends one entry; an equal entry, or one with the same
  `name` and `in` (a parameter), already there makes the action redundant.

Any stale or redundant action fails the pipeline (exit 2, listed) before anything is written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonpath
import yaml

from . import PipelineError

REPLACES = "x-replaces"


@dataclass(frozen=True)
class ActionOutcome:
    index: int
    target: str
    description: str
    matched: int
    changed: bool
    # Why the action is redundant: each names the node upstream already defines.
    redundant: tuple[str, ...] = field(default=())

    @property
    def stale(self) -> bool:
        """True when the action no longer corrects anything: upstream fixed or moved it."""
        return self.matched == 0 or (not self.changed and not self.redundant)

    @property
    def refused(self) -> bool:
        return self.stale or bool(self.redundant)

    @property
    def why(self) -> str:
        if self.matched == 0:
            return "stale: its target matches nothing (upstream changed or fixed it)"
        if self.redundant:
            return "redundant: " + "; ".join(self.redundant)
        return "stale: it changes nothing (upstream already says this)"


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
        if not str(action.get("description", "")).strip():
            raise PipelineError(
                f"overlay action {number} has no description (name the server fact it encodes)"
            )
        if action.get(REPLACES):
            if not isinstance(action.get("update"), dict):
                raise PipelineError(f"overlay action {number}: {REPLACES} needs an object update")
            if "[?" not in str(action["target"]):
                raise PipelineError(
                    f"overlay action {number}: an {REPLACES} action must pin the upstream value "
                    "it replaces with a filter ([?...]) in its target"
                )
    return overlay


def _add_only(node: dict[str, Any], update: dict[str, Any], where: str, found: list[str]) -> None:
    """Merge `update` into `node`, recording in `found` every key upstream already had."""
    for key, value in update.items():
        here = f"{where}[{key!r}]"
        if key not in node:
            node[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(node[key], dict):
            _add_only(node[key], value, here, found)
        elif node[key] == value:
            found.append(f"upstream already defines {here} as this action does")
        else:
            found.append(f"upstream already defines {here}; this action would override it")


@dataclass
class _Effect:
    changed: bool = False
    redundant: list[str] = field(default_factory=list)


def _apply_update(node: Any, action: dict[str, Any], where: str, effect: _Effect) -> None:
    """Apply one update to one matched node in place, recording what it did."""
    update = action["update"]
    if isinstance(node, list):
        if update in node:
            effect.redundant.append(f"upstream's {where} already has this entry")
            return
        if isinstance(update, dict) and "name" in update:
            same = [
                e
                for e in node
                if isinstance(e, dict)
                and e.get("name") == update["name"]
                and e.get("in") == update.get("in")
            ]
            if same:
                effect.redundant.append(f"upstream's {where} already has {update['name']!r}")
                return
        node.append(copy.deepcopy(update))
        effect.changed = True
        return
    if not (isinstance(node, dict) and isinstance(update, dict)):
        raise PipelineError(f"cannot merge {type(update).__name__} into {type(node).__name__}")
    if action.get(REPLACES):
        for key, value in update.items():
            if node.get(key) == value:
                effect.redundant.append(
                    f"upstream already defines {where}[{key!r}] as this action does"
                )
            else:
                node[key] = copy.deepcopy(value)
                effect.changed = True
        return
    found: list[str] = []
    before = copy.deepcopy(node)
    _add_only(node, update, where, found)
    effect.redundant += found
    effect.changed |= node != before


def _location(parts: tuple[Any, ...]) -> str:
    return "$" + "".join(f"[{p!r}]" for p in parts)


def _container(document: Any, parts: tuple[Any, ...]) -> Any:
    node = document
    for part in parts:
        node = node[part]
    return node


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
        effect = _Effect()
        if action.get("remove"):
            # Delete the deepest and highest-indexed matches first so earlier indices stay valid.
            for match in sorted(matches, key=lambda m: m.parts, reverse=True):
                parent = _container(result, match.parts[:-1])
                del parent[match.parts[-1]]
                effect.changed = True
        else:
            for match in matches:
                _apply_update(match.obj, action, _location(match.parts), effect)
        outcomes.append(
            ActionOutcome(
                index=index,
                target=target,
                description=" ".join(str(action.get("description", "")).split()),
                matched=len(matches),
                changed=effect.changed,
                redundant=tuple(dict.fromkeys(effect.redundant)),
            )
        )
    return result, outcomes


def refusal_lines(outcomes: list[ActionOutcome]) -> list[str]:
    """One entry per stale or redundant action: what it is, why it is refused, its target."""
    return [
        f"action {o.index} ({_short(o.description) or o.target}): {o.why}\n    target: {o.target}"
        for o in outcomes
        if o.refused
    ]


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
