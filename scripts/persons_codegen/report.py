"""The change report: what changed in the persons API between two schemas, in Markdown.

Operations are matched by method and path with parameter names blanked, so a renamed path
parameter (`{project_id}` -> `{environment_id}`) reads as a change, not a removal plus an add.
References to components other than schemas (`#/components/parameters/...`, request bodies,
responses, headers) are resolved before comparing; schemas are named by their component. OpenAPI
3.0 and 3.1 spellings of the same type read the same (`nullable: true` and `type: [x, "null"]`
are both `x?`), and enum order does not count, so the report shows changes of meaning only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import PipelineError
from .filtering import filter_paths, is_client_operation, operations, prune_components

_PARAM = re.compile(r"\{[^}]+\}")
_COMBINATORS = ("allOf", "oneOf", "anyOf")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def resolve(document: dict[str, Any], node: Any, seen: frozenset[str] = frozenset()) -> Any:
    """`node` with a local non-schema `$ref` replaced by its target (transitively)."""
    if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
        return node
    ref: str = node["$ref"]
    parts = ref.removeprefix("#/").split("/")
    if not ref.startswith("#/components/") or len(parts) != 3 or parts[1] == "schemas":
        return node
    if ref in seen:
        raise PipelineError(f"$ref cycle through {ref}")
    try:
        target = document["components"][parts[1]][parts[2]]
    except (KeyError, TypeError):
        raise PipelineError(f"$ref {ref} does not resolve") from None
    return resolve(document, target, seen | {ref})


def _types(schema: dict[str, Any]) -> tuple[list[str], bool]:
    """(the non-null types, nullable) of a schema, from 3.0 or 3.1 spellings."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    nullable = bool(schema.get("nullable")) or "null" in types
    return [str(t) for t in types if t != "null"], nullable


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") == "null" or _ref_name(str(schema.get("$ref", ""))) == "NullEnum"
    )


def describe(schema: Any) -> str:
    """A one-line type summary: `string`, `integer?` (nullable), `array<Person>`, `Person`."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    types, nullable = _types(schema)
    kind = next((k for k in _COMBINATORS if k in schema), None)
    if "$ref" in schema:
        text = _ref_name(schema["$ref"])
    elif kind is not None:
        members = [s for s in schema[kind] if not _is_null(s)]
        nullable |= len(members) < len(schema[kind])
        if len(members) == 1:
            text = describe(members[0]).removesuffix("?")
        else:
            text = f"{kind}({', '.join(describe(s) for s in members)})"
    elif types == ["array"]:
        text = f"array<{describe(schema.get('items'))}>"
    elif types == ["object"] and isinstance(schema.get("additionalProperties"), dict):
        text = f"map<{describe(schema['additionalProperties'])}>"
    elif "const" in schema:
        text = f"const {schema['const']!r}"
    else:
        text = "|".join(types) or "any"
        if "format" in schema:
            text += f"({schema['format']})"
        if "enum" in schema:
            values = sorted(str(v) for v in schema["enum"] if v is not None)
            nullable |= None in schema["enum"]
            text += " enum[" + "|".join(values) + "]"
    return text + "?" if nullable and not text.endswith("?") else text


def _content_summary(document: dict[str, Any], holder: Any) -> str:
    holder = resolve(document, holder)
    if not isinstance(holder, dict) or not holder.get("content"):
        return "no body"
    return ", ".join(
        f"{media}: {describe(body.get('schema'))}"
        for media, body in sorted(holder["content"].items())
    )


@dataclass
class OperationView:
    method: str
    path: str
    operation_id: str
    facts: dict[str, str] = field(default_factory=dict)


def _parameters(
    document: dict[str, Any], path_item: dict[str, Any], operation: dict[str, Any]
) -> list[dict[str, Any]]:
    """The operation's parameters with the path item's, resolved; the operation's win."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        resolved = resolve(document, parameter)
        if not isinstance(resolved, dict) or "name" not in resolved or "in" not in resolved:
            raise PipelineError(f"a parameter of {operation.get('operationId')} has no name/in")
        merged[(str(resolved["name"]), str(resolved["in"]))] = resolved
    return list(merged.values())


def _operation_view(
    document: dict[str, Any], method: str, path: str, operation: dict[str, Any]
) -> OperationView:
    facts: dict[str, str] = {}
    for parameter in _parameters(document, document["paths"][path], operation):
        required = " required" if parameter.get("required") else ""
        facts[f"parameter `{parameter['name']}` ({parameter['in']})"] = (
            describe(parameter.get("schema")) + required
        )
    if "requestBody" in operation:
        facts["request body"] = _content_summary(document, operation["requestBody"])
    for status, response in sorted(operation.get("responses", {}).items()):
        facts[f"response {status}"] = _content_summary(document, response)
        headers = (resolve(document, response) or {}).get("headers") or {}
        for name in sorted(headers):
            facts[f"response {status} header `{name}`"] = describe(
                resolve(document, headers[name]).get("schema")
            )
    scopes = sorted(
        scope
        for requirement in operation.get("security", []) or []
        for scope_list in requirement.values()
        for scope in scope_list
    )
    facts["scopes"] = ", ".join(scopes) or "none"
    if operation.get("deprecated"):
        facts["deprecated"] = "yes"
    return OperationView(method.upper(), path, str(operation.get("operationId", "")), facts)


def persons_view(document: dict[str, Any]) -> tuple[dict[str, OperationView], dict[str, Any]]:
    """(operations by key, component schemas) of the persons part of `document`."""
    persons = prune_components(filter_paths(document))
    views = {
        f"{method.upper()} {_PARAM.sub('{}', path)}": _operation_view(
            persons, method, path, operation
        )
        for method, path, operation in operations(persons)
    }
    return views, persons["components"].get("schemas", {})


def _schema_fields(schema: dict[str, Any]) -> dict[str, str]:
    required = set(schema.get("required", []))
    return {
        name: describe(prop) + (" required" if name in required else "")
        for name, prop in (schema.get("properties") or {}).items()
    }


def _fact_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            lines.append(f"- {key} added: `{new[key]}`")
        elif key not in new:
            lines.append(f"- {key} removed (was `{old[key]}`)")
        elif old[key] != new[key]:
            lines.append(f"- {key}: `{old[key]}` -> `{new[key]}`")
    return lines


def change_report(
    old: dict[str, Any], new: dict[str, Any], old_label: str = "old", new_label: str = "new"
) -> str:
    old_ops, old_schemas = persons_view(old)
    new_ops, new_schemas = persons_view(new)
    added = [new_ops[k] for k in sorted(new_ops.keys() - old_ops.keys())]
    removed = [old_ops[k] for k in sorted(old_ops.keys() - new_ops.keys())]
    out = [
        "## PostHog persons API: schema changes",
        "",
        f"`{old_label}` (OpenAPI {old.get('openapi', '?')}, {len(old_ops)} persons operations) "
        f"-> `{new_label}` (OpenAPI {new.get('openapi', '?')}, {len(new_ops)} persons operations)",
        "",
    ]
    changed_sections = []
    for key in sorted(old_ops.keys() & new_ops.keys()):
        before, after = old_ops[key], new_ops[key]
        lines = _fact_changes(before.facts, after.facts)
        if before.path != after.path:
            lines.insert(0, f"- path: `{before.path}` -> `{after.path}`")
        if before.operation_id != after.operation_id:
            lines.insert(0, f"- operationId: `{before.operation_id}` -> `{after.operation_id}`")
        if lines:
            changed_sections.append(
                [f"#### `{after.method} {after.path}` ({after.operation_id})", *lines, ""]
            )
    for title, views in (("Operations added", added), ("Operations removed", removed)):
        out += [f"### {title} ({len(views)})", ""]
        if views:
            out += [
                "| method | path | operationId | in the client |",
                "| --- | --- | --- | --- |",
            ]
            out += [
                f"| {v.method} | `{v.path}` | `{v.operation_id}` | "
                f"{'yes' if is_client_operation(v.method.lower(), v.path) else 'no'} |"
                for v in views
            ]
        else:
            out.append("None.")
        out.append("")
    out += [f"### Operations changed ({len(changed_sections)})", ""]
    out += [line for section in changed_sections for line in section] or ["None.", ""]

    schema_lines = []
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        schema_lines.append(f"- `{name}` added")
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        schema_lines.append(f"- `{name}` removed")
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        for line in _fact_changes(
            _schema_fields(old_schemas[name]), _schema_fields(new_schemas[name])
        ):
            schema_lines.append(line.replace("- ", f"- `{name}`.", 1))
    out += [f"### Schemas and fields ({len(schema_lines)} changes)", ""]
    out += schema_lines or ["None."]
    if not (added or removed or changed_sections or schema_lines) and old != new:
        out += ["", "No operation, parameter or field changed: only descriptions or examples."]
    return "\n".join(out).rstrip() + "\n"
