"""The one open GitHub issue carrying a label, kept through the `gh` command line.

Both scheduled workflows reach a person this way: regeneration refusals
(persons_codegen/outcome.py) and live-contract divergences (live_contract/publish.py). Each
opens its issue when something is wrong, updates it while that lasts and closes it with a
comment once all is well. `gh` takes its token from GH_TOKEN or GITHUB_TOKEN and the
repository from the checkout.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# One `gh` call: (arguments after `gh`, text for stdin or None) -> stdout.
Gh = Callable[[Sequence[str], str | None], str]


class GhError(RuntimeError):
    """`gh` is missing or a call failed; the message says which."""


def run_gh(arguments: Sequence[str], stdin: str | None) -> str:
    try:
        done = subprocess.run(
            ["gh", *arguments], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GhError("the GitHub CLI (gh) is not installed") from None
    if done.returncode != 0:
        raise GhError(f"gh {arguments[0]} {arguments[1]} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class LabelledIssue:
    gh: Gh
    label: str
    title: str
    color: str

    def find_open(self) -> str | None:
        """The open issue's number, or None (`gh issue list` never lists pull requests)."""
        number = self.gh(
            [
                "issue",
                "list",
                "--state",
                "open",
                "--label",
                self.label,
                "--json",
                "number",
                "--jq",
                ".[0].number // empty",
            ],
            None,
        ).strip()
        return number or None

    def open(self, body: str) -> str:
        """Opens the issue (creating its label if need be); returns its URL."""
        self.gh(["label", "create", self.label, "--force", "--color", self.color], None)
        return self.gh(
            ["issue", "create", "--title", self.title, "--label", self.label, "--body-file", "-"],
            body,
        ).strip()

    def update(self, number: str, body: str) -> None:
        self.gh(["issue", "edit", number, "--body-file", "-"], body)

    def comment(self, number: str, text: str) -> None:
        self.gh(["issue", "comment", number, "--body", text], None)

    def close(self, number: str, comment: str) -> None:
        self.gh(["issue", "close", number, "--comment", comment], None)
