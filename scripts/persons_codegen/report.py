"""The change report: what changed in the persons API between two schemas, in Markdown.

Operations are matched by method and path with parameter names blanked, so a renamed path
parameter (`{project_id}` -> `{environment_id}`) reads as a change, not a removal plus an add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .filtering import filter_paths, operations, prune_components

_PARAM = re.compile(r"\{[^}]+\}")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def describe(schema: Any) -> str:
    """A one-line type summary: `string`, `integer?` (nullable), `array<Person>`, `Person`."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        text = _ref_name(schema["$ref"])
    elif "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
        kind = next(k for k in ("allOf", "oneOf", "anyOf") if k in schema)
        text = f"{kind}({', '.join(describe(s) for s in schema[kind])})"
    elif schema.get("type") == "array":
        text = f"array<{describe(schema.get('items'))}>"
    elif schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = f"map<{describe(schema['additionalProperties'])}>"
    else:
        text = str(schema.get("type", "any"))
        if "format" in schema:
            text += f"({schema['format']})"
        if "enum" in schema:
            text += " enum[" + "|".join(str(v) for v in schema["enum"]) + "]"
    if schema.get("nullable"):
        text += "?"
    return text


def _content_summary(holder: dict[str, Any] | None) -> str:
    if not holder or not holder.get("content"):
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


def _operation_view(method: str, path: str, operation: dict[str, Any]) -> OperationView:
    facts: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        required = " required" if parameter.get("required") else ""
        facts[f"parameter `{parameter.get('name')}` ({parameter.get('in')})"] = (
            describe(parameter.get("schema")) + required
        )
    if "requestBody" in operation:
        facts["request body"] = _content_summary(operation["requestBody"])
    for status, response in sorted(operation.get("responses", {}).items()):
        facts[f"response {status}"] = _content_summary(response)
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
        f"{method.upper()} {_PARAM.sub('{}', path)}": _operation_view(method, path, operation)
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
        f"`{old_label}` ({len(old_ops)} persons operations) -> "
        f"`{new_label}` ({len(new_ops)} persons operations)",
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
            out += ["| method | path | operationId |", "| --- | --- | --- |"]
            out += [f"| {v.method} | `{v.path}` | `{v.operation_id}` |" for v in views]
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
