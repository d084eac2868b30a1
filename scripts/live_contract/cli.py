"""`python scripts/live_contract.py` (also `make live-contract`).

    run [--out DIR] [--update-cassettes] [--publish]   the live check (the default command)
    record-emulator [--into DIR]                       re-record the cassettes on the emulator
    compare SERVER_DIR EMULATOR_DIR [--out DIR]        compare two recordings

Exit codes: 0 the emulator agrees with the server, 1 it diverges (see report.md),
2 the check refused to run or failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import traceback
from pathlib import Path

from labelled_issue import run_gh

from . import report
from .compare import compare
from .publish import publish
from .recording import OUTCOMES
from .runner import SERVER, Live, record_emulator, run_live
from .seeding import PLAN_FILE
from .settings import RefusedError, Settings

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "tests" / "cassettes"
DEFAULT_OUT = ROOT / "build" / "live-contract"
AGREE, DIVERGE, FAILED = 0, 1, 2


def install_cassettes(recorded: Path, cassettes: Path = CASSETTES) -> int:
    """Replace the committed cassettes with a recording; returns how many were installed."""
    for old in cassettes.rglob("*.yaml"):
        old.unlink()
    installed = 0
    for new in recorded.rglob("*.yaml"):
        target = cassettes / new.relative_to(recorded)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(new, target)
        installed += 1
    for name in (PLAN_FILE, OUTCOMES):
        shutil.copyfile(recorded / name, cassettes / name)
    return installed


def _publish(body: str | None) -> None:
    # `gh` reads GITHUB_TOKEN itself; the repository names the run in the issue.
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository or not os.environ.get("GITHUB_TOKEN"):
        raise RefusedError("--publish needs GITHUB_REPOSITORY and GITHUB_TOKEN")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_id = os.environ.get("GITHUB_RUN_ID")
    run_url = f"{server}/{repository}/actions/runs/{run_id}" if run_id else None
    print(publish(body, run_gh, run_url))


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    try:
        outcome = run_live(Live(Settings.from_env()), out)
    except Exception as error:
        refused = isinstance(error, RefusedError)
        message = f"{type(error).__name__}: {error}"
        print(
            f"live contract check {'refused' if refused else 'failed'}: {message}", file=sys.stderr
        )
        if not refused:
            traceback.print_exc()
        if args.publish:
            _publish(f"# Live contract check: it could not run\n\n```\n{message}\n```\n")
        return FAILED
    print(f"{len(outcome.divergences)} divergences; report: {outcome.report}")
    if args.update_cassettes:
        print(f"installed {install_cassettes(out / SERVER)} cassettes into {CASSETTES}")
    if args.publish:
        _publish(outcome.report.read_text(encoding="utf-8") if outcome.divergences else None)
    return DIVERGE if outcome.divergences else AGREE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="live_contract.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="the live check (default)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT)
    run.add_argument(
        "--update-cassettes",
        action="store_true",
        help="install the server's cassettes into tests/cassettes",
    )
    run.add_argument(
        "--publish",
        action="store_true",
        help="open, update or close the GitHub issue (GITHUB_TOKEN)",
    )
    emulator = commands.add_parser("record-emulator", help="record the cassettes on the emulator")
    emulator.add_argument("--into", type=Path, default=CASSETTES)
    both = commands.add_parser("compare", help="compare two recordings")
    both.add_argument("server", type=Path)
    both.add_argument("emulator", type=Path)
    both.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] or ["run"])
    if args.command == "record-emulator":
        outcomes = record_emulator(args.into)
        failed = {k: v for k, v in outcomes.items() if v != "ok"}
        for name, why in failed.items():
            print(f"{name}: {why}", file=sys.stderr)
        print(f"recorded {len(outcomes)} scenarios into {args.into}")
        return FAILED if failed else AGREE
    if args.command == "compare":
        divergences = compare(args.server, args.emulator)
        path = report.write(args.out, divergences, {"server": str(args.server)})
        print(f"{len(divergences)} divergences; report: {path}")
        return DIVERGE if divergences else AGREE
    return _run(args)
