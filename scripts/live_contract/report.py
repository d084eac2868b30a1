"""The divergence report: Markdown for people (and the issue body), JSON for tools."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .compare import Divergence

KIND_TITLES = {
    "status": "status code",
    "missing_field": "field the emulator does not send",
    "extra_field": "field only the emulator sends",
    "type": "JSON type",
    "nullability": "nullability",
    "pagination": "pagination link",
    "header": "header",
    "error_body": "error body",
    "body": "body",
    "calls": "number of calls",
    "outcome": "scenario outcome",
}


def to_json(divergences: list[Divergence], about: dict[str, Any]) -> dict[str, Any]:
    return {
        **about,
        "divergences": len(divergences),
        "operations": sorted({d.operation for d in divergences}),
        "items": [asdict(d) | {"cassettes": list(d.cassettes)} for d in divergences],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def to_markdown(divergences: list[Divergence], about: dict[str, Any]) -> str:
    lines = ["# Live contract check: PostHog vs the emulator", ""]
    lines += [f"- {key}: {value}" for key, value in about.items()]
    lines.append("")
    if not divergences:
        lines.append("The emulator answered every recorded call as the server did.")
        return "\n".join(lines) + "\n"
    operations = sorted({d.operation for d in divergences})
    lines.append(
        f"**{len(divergences)} divergences in {len(operations)} operations.** "
        "`server` is what PostHog answered, `emulator` what the emulator answered to the same "
        "call; the cassettes of both runs are in the run's artifacts."
    )
    by_operation: dict[str, list[Divergence]] = defaultdict(list)
    for divergence in divergences:
        by_operation[divergence.operation].append(divergence)
    for operation in operations:
        lines += ["", f"## `{operation}`", "", "| what | field | server | emulator | seen in |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for d in by_operation[operation]:
            seen = ", ".join(f"`{Path(c).stem}`" for c in d.cassettes[:3])
            if len(d.cassettes) > 3:
                seen += f" (+{len(d.cassettes) - 3})"
            lines.append(
                f"| {KIND_TITLES.get(d.kind, d.kind)} | {_cell(f'`{d.field}`' if d.field else '')}"
                f" | {_cell(d.server)} | {_cell(d.emulator)} | {_cell(seen)} |"
            )
    return "\n".join(lines) + "\n"


def write(directory: Path, divergences: list[Divergence], about: dict[str, Any]) -> Path:
    """Writes report.md and report.json into `directory`; returns the Markdown's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(
        json.dumps(to_json(divergences, about), indent=2) + "\n", encoding="utf-8"
    )
    markdown = directory / "report.md"
    markdown.write_text(to_markdown(divergences, about), encoding="utf-8")
    return markdown
