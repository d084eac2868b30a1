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
import sys
from pathlib import Path

from labelled_issue import GhError, run_gh
from persons_codegen import PipelineError
from persons_codegen.outcome import Outcome, publish, summary_file_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outcome", type=Path, help="the JSON file regenerate.py --outcome wrote")
    args = parser.parse_args(argv)
    try:
        for line in publish(Outcome.read(args.outcome), run_gh, summary_file_from_env()):
            print(line)
    except (PipelineError, GhError) as exc:
        print(f"publish_outcome: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
