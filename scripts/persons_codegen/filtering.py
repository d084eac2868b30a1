"""Select the persons operations and exactly the components they reference.

Two selections: `filter_paths` keeps every persons operation of both scopes (what upstream
publishes about persons: the committed snapshot and the change report show all of it), and
`client_operations` keeps the ones the generated client has.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from . import PipelineError

# `/api/projects/{project_id}/persons/...` and `/api/environments/{...}/persons/...`; the
# cohort members path `/cohorts/{id}/persons/` is not a persons path.
PERSONS_PATH = re.compile(r"^/api/(projects|environments)/\{[A-Za-z_]+\}/persons/")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF_PREFIX = "#/components/"

# The client is generated for the projects scope only: the environments scope is deprecated
# upstream ("Use /api/projects/{project_id}/ instead") and gone from the 2026 schema.
CLIENT_PATH = re.compile(r"^/api/projects/\{project_id\}/persons/")
# Persons actions the client leaves out, by the path suffix after `persons/`:
# - the legacy actor endpoints, which the 2026 server no longer serves to personal API keys
#   (../shared/posthog-persons-api.md, "What the 2026 server does": stickiness answers 400,
#   funnel/correlation 404, funnel/trends/lifecycle declare no scope so scoped keys get 403);
# - the per-person deletions the server still answers but hides from its schema
#   (`exclude=True` on destroy/delete_events/delete_recordings in posthog/api/person.py,
#   PersonViewSet): bulk_delete does all of it and is the one the facade uses.
EXCLUDED_ACTIONS = re.compile(
    r"persons/(funnel/|funnel/correlation/|trends/|lifecycle/|stickiness/"
    r"|\{[A-Za-z_]+\}/delete_events/|\{[A-Za-z_]+\}/delete_recordings/)$"
)
# PersonViewSet.destroy (DELETE persons/{id}/): hidden upstream, replaced by bulk_delete.
EXCLUDED_METHODS = {("delete", re.compile(r"persons/\{[A-Za-z_]+\}/$"))}


def is_persons_path(path: str) -> bool:
    return PERSONS_PATH.match(path) is not None


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the document, in a stable order."""
    for path in sorted(document.get("paths", {})):
        item = document["paths"][path]
        for method in HTTP_METHODS:
            if isinstance(item, dict) and method in item:
                yield method, path, item[method]


def is_client_operation(method: str, path: str) -> bool:
    if CLIENT_PATH.match(path) is None or EXCLUDED_ACTIONS.search(path) is not None:
        return False
    return not any(method == m and pattern.search(path) for m, pattern in EXCLUDED_METHODS)


def client_operations(persons: dict[str, Any]) -> dict[str, Any]:
    """A copy of the persons part holding only the operations the client is generated for."""
    result = copy.deepcopy(persons)
    kept: dict[str, Any] = {}
    for path, item in result["paths"].items():
        methods = [m for m in HTTP_METHODS if m in item]
        chosen = {m for m in methods if is_client_operation(m, path)}
        if chosen:
            kept[path] = {k: v for k, v in item.items() if k not in methods or k in chosen}
    if not kept:
        raise PipelineError(
            "the schema has no persons operations of the projects scope "
            "(/api/projects/{project_id}/persons/...): is it PostHog's schema?"
        )
    result["paths"] = kept
    return result


def filter_paths(document: dict[str, Any]) -> dict[str, Any]:
    """A copy holding only the persons paths; components are kept whole (see prune)."""
    kept = {p: copy.deepcopy(item) for p, item in document["paths"].items() if is_persons_path(p)}
    if not kept:
        raise PipelineError(
            "the schema has no persons paths (/api/projects/{id}/persons/... or "
            "/api/environments/{id}/persons/...): is it PostHog's schema?"
        )
    result: dict[str, Any] = {
        "openapi": document["openapi"],
        "info": copy.deepcopy(document.get("info", {"title": "PostHog API", "version": ""})),
        "paths": kept,
        "components": copy.deepcopy(document.get("components", {})),
    }
    if "servers" in document:
        result["servers"] = copy.deepcopy(document["servers"])
    return result


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _split_ref(ref: str) -> tuple[str, str]:
    if not ref.startswith(REF_PREFIX):
        raise PipelineError(f"unsupported $ref {ref!r}: only local #/components/ refs are handled")
    section, _, name = ref[len(REF_PREFIX) :].partition("/")
    return section, name


def prune_components(document: dict[str, Any]) -> dict[str, Any]:
    """Keep exactly the components the paths reference, transitively, and the security schemes.

    Raises when a reference does not resolve: a dangling `$ref` would make the generator skip
    the model silently.
    """
    components = document.get("components", {})
    kept: dict[str, dict[str, Any]] = {}
    pending = list(_refs(document["paths"]))
    while pending:
        section, name = _split_ref(pending.pop())
        if name in kept.get(section, {}):
            continue
        try:
            target = components[section][name]
        except KeyError:
            raise PipelineError(f"$ref #/components/{section}/{name} does not resolve") from None
        kept.setdefault(section, {})[name] = target
        pending.extend(_refs(target))
    if "securitySchemes" in components:
        kept["securitySchemes"] = components["securitySchemes"]
    pruned = dict(document)
    pruned["components"] = kept
    return pruned
