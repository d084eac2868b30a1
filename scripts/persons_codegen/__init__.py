"""The regeneration pipeline: pull -> filter -> correct -> write -> generate -> check.

Kept apart from the shipped packages (githubkit's `codegen/` layout); `scripts/regenerate.py`
is its command line.
"""

from __future__ import annotations


class PipelineError(Exception):
    """A failure the user can act on; the command line prints it as one line, no traceback."""


class PipelineRefusal(PipelineError):
    """The pipeline ran but refuses its result: a list of problems a maintainer must review
    (stale or redundant overlay actions, generator warnings, skipped operations, a facade
    dependency that vanished). Nothing is written; the command line lists them (exit 2)."""

    def __init__(self, title: str, problems: list[str]) -> None:
        super().__init__(title + ":\n" + "\n".join(f"- {p}" for p in problems))
        self.title = title
        self.problems = list(problems)
