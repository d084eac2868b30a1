#!/usr/bin/env python3
"""Make a regeneration's outcome reach a person (called by .github/workflows/regenerate.yml).

    python scripts/publish_outcome.py OUTCOME_JSON

Reads the file `scripts/regenerate.py --outcome` wrote and acts through the `gh` command line
(GH_TOKEN in the environment): a refused or failed run opens or updates the one refusal issue;
an unchanged or changed run says so in the job summary and closes that issue if it is open.
The rules live in persons_codegen/outcome.py, tested locally.
Exit codes: 0 done, 2 unreadable outcome or a `gh` failure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from persons_codegen import PipelineError
from persons_codegen.outcome import Outcome, publish, summary_file_from_env


def run_gh(arguments: Sequence[str], stdin: str | None) -> str:
    try:
        done = subprocess.run(
            ["gh", *arguments], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise PipelineError("the GitHub CLI (gh) is not installed") from None
    if done.returncode != 0:
        raise PipelineError(f"gh {arguments[0]} {arguments[1]} failed: {done.stderr.strip()}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outcome", type=Path, help="the JSON file regenerate.py --outcome wrote")
    args = parser.parse_args(argv)
    try:
        for line in publish(Outcome.read(args.outcome), run_gh, summary_file_from_env()):
            print(line)
    except PipelineError as exc:
        print(f"publish_outcome: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
