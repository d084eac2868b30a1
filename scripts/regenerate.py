#!/usr/bin/env python3
"""Regenerate the persons client from PostHog's OpenAPI schema.

    python scripts/regenerate.py                       # pull the live schema, regenerate
    python scripts/regenerate.py --source FILE         # from a local YAML/JSON snapshot
    python scripts/regenerate.py --source FILE --check # fail if openapi/ or generated/ drifted
    python scripts/regenerate.py --report OLD NEW      # Markdown change report of two schemas

Steps: pull -> filter (the persons operations of both scopes and the components they use,
written to openapi/upstream-persons.json) -> select the client's operations (projects scope,
no legacy actor endpoints, no hidden deletions) -> correct (openapi/overlay.yaml, refusing
stale and redundant actions) -> prune -> validate -> write openapi/posthog-persons.json ->
generate generated/posthog_persons_api (custom templates: openapi/templates/) -> check that
every operation and every function the facade pins (src/posthog_persons/_operations.py) is
there. Nothing in the tree changes unless every step succeeds.
Exit codes: 0 done, 1 drift found by --check, 2 error, refusal or crash (a crash still writes
the `--outcome` file, status failed, so the weekly workflow opens its issue).
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import json
import shutil
import sys
import tempfile
import tomllib
import traceback
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from persons_codegen import (
    PipelineError,
    PipelineRefusal,
    facade,
    filtering,
    generate,
    overlay,
    report,
    source,
)
from persons_codegen.outcome import Outcome

ROOT = Path(__file__).resolve().parent.parent


def load_config(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as handle:
        config: dict[str, Any] = tomllib.load(handle)["tool"]["posthog-persons"]["codegen"]
    return config


def serialise(schema: dict[str, Any]) -> str:
    """Stable key order and a final newline: the same input always gives the same bytes."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def upstream_persons(upstream: dict[str, Any]) -> dict[str, Any]:
    """The persons paths of the upstream schema and the components they use, uncorrected."""
    return filtering.prune_components(filtering.filter_paths(upstream))


def build_schema(upstream: dict[str, Any], overlay_file: Path) -> dict[str, Any]:
    # Pruned before correcting, so that the overlay only ever meets the components the client
    # uses (and the committed snapshot regenerates exactly what the full schema does).
    persons = filtering.prune_components(filtering.client_operations(upstream_persons(upstream)))
    corrected, outcomes = overlay.apply_overlay(persons, overlay.load_overlay(overlay_file))
    refused = overlay.refusal_lines(outcomes)
    if refused:
        raise PipelineRefusal(
            f"{overlay_file.name} has stale or redundant actions (upstream changed: update or "
            "delete them)",
            refused,
        )
    schema = filtering.prune_components(corrected)
    try:
        validate(schema)
    except OpenAPIValidationError as exc:
        raise PipelineError(f"the corrected schema is not valid OpenAPI: {exc.message}") from None
    return schema


def build_tree(
    upstream: dict[str, Any],
    schema: dict[str, Any],
    root: Path,
    config: dict[str, Any],
    into: Path,
) -> None:
    """Write both schemas and the generated package under `into`, mirroring the repo layout."""
    snapshot = into / config["upstream_snapshot"]
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_text(serialise(upstream_persons(upstream)), encoding="utf-8")
    schema_file = into / config["filtered_schema"]
    schema_file.parent.mkdir(parents=True, exist_ok=True)
    schema_file.write_text(serialise(schema), encoding="utf-8")
    package = into / config["package_dir"]
    package.parent.mkdir(parents=True, exist_ok=True)
    generate.generate_package(
        schema_file, root / config["generator_config"], root / config["templates"], package
    )
    vanished = facade.missing_pins(package, facade.load_pins(root / config["facade_operations"]))
    if vanished:
        raise PipelineRefusal(
            f"the fresh client lacks what the facade uses ({config['facade_operations']})",
            vanished,
        )


def _tree_files(base: Path) -> dict[str, Path]:
    if base.is_file():
        return {"": base}
    return {
        str(p.relative_to(base)): p
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def drift(committed: Path, fresh: Path, label: str) -> list[str]:
    """Readable lines describing how `committed` differs from `fresh` (empty when equal)."""
    old, new = _tree_files(committed) if committed.exists() else {}, _tree_files(fresh)

    def shown(name: str) -> str:
        return f"{label}/{name}" if name else label

    lines = [f"{shown(n)}: missing from the tree" for n in sorted(new.keys() - old.keys())]
    lines += [f"{shown(n)}: not produced by the pipeline" for n in sorted(old.keys() - new.keys())]
    for name in sorted(old.keys() & new.keys()):
        if filecmp.cmp(old[name], new[name], shallow=False):
            continue
        diff = list(
            difflib.unified_diff(
                old[name].read_text(encoding="utf-8", errors="replace").splitlines(),
                new[name].read_text(encoding="utf-8", errors="replace").splitlines(),
                "committed",
                "regenerated",
                lineterm="",
                n=1,
            )
        )
        lines.append(f"{shown(name)}: differs ({len(diff)} diff lines), e.g.")
        lines += ["    " + d for d in diff[:12]]
    return lines


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def replace_trees(pairs: list[tuple[Path, Path]]) -> None:
    """Swap each fresh output into place, all staged first, so that a failure while copying
    leaves the committed tree untouched and the swaps themselves are renames."""
    staged = []
    for fresh, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(target.name + ".new")
        _remove(staging)
        if fresh.is_dir():
            shutil.copytree(fresh, staging)
        else:
            shutil.copyfile(fresh, staging)
        staged.append((staging, target))
    for staging, target in staged:
        backup = target.with_name(target.name + ".old")
        _remove(backup)
        if target.exists():
            target.rename(backup)
        staging.rename(target)
        _remove(backup)


def run(args: argparse.Namespace) -> int:
    root: Path = args.root.resolve()
    config = load_config(root)
    if args.report:
        old_file, new_file = args.report
        text = report.change_report(
            source.load(old_file),
            source.load(new_file),
            source.label(old_file),
            source.label(new_file),
        )
        _emit(text, args.report_out)
        return 0
    origin = args.source or config["schema_url"]
    if args.check:
        return check(source.load(origin), root, config)
    try:
        upstream = source.load(origin)  # raises PipelineError, never a refusal
        result = regenerate(upstream, origin, root, config)
    except PipelineRefusal as refusal:
        if args.report_out or args.outcome:
            result = _refused(refusal, upstream, origin, root, config)
            if args.report_out:
                _emit(result.report, args.report_out)
            if args.outcome:
                result.write(args.outcome)
        raise
    except PipelineError as error:
        if args.outcome:
            Outcome("failed", _first_line(error), origin).write(args.outcome)
        raise
    except Exception as error:
        # A bug in the pipeline, not in its input: the weekly run must still tell a person
        # (its issue), and main() keeps the traceback for whoever fixes it.
        if args.outcome:
            summary = f"unexpected error (a bug in the pipeline): {_crash_line(error)}"
            Outcome("failed", summary, origin).write(args.outcome)
        raise
    print(f"regenerate: {result.status}: {result.summary}")
    if args.report_out and result.status == "changed":
        # The pull request's body: the change report, or what changed when the API did not.
        _emit(result.report or result.summary + "\n", args.report_out)
    elif result.report:
        _emit(result.report, None)
    if args.outcome:
        result.write(args.outcome)
    return 0


def _outputs(config: dict[str, Any]) -> tuple[str, str, str]:
    return (config["upstream_snapshot"], config["filtered_schema"], config["package_dir"])


def check(upstream: dict[str, Any], root: Path, config: dict[str, Any]) -> int:
    """Exit status of `--check`: 0 when the committed tree is what the pipeline makes."""
    schema = build_schema(upstream, root / config["overlay"])
    with tempfile.TemporaryDirectory(prefix="posthog-persons-regen-") as work:
        build_tree(upstream, schema, root, config, Path(work))
        problems = [
            line for rel in _outputs(config) for line in drift(root / rel, Path(work) / rel, rel)
        ]
    if problems:
        print("regenerate --check: the committed tree differs from the pipeline's output:")
        print("\n".join(problems))
        print("Run `make regenerate` (never edit generated files by hand).")
        return 1
    print("regenerate --check: openapi/ and generated/ match the pipeline's output.")
    return 0


def regenerate(
    upstream: dict[str, Any], origin: str, root: Path, config: dict[str, Any]
) -> Outcome:
    """Regenerate the tree from `upstream` (loaded from `origin`); unchanged when the fresh
    output equals the tree."""
    schema = build_schema(upstream, root / config["overlay"])
    outputs = _outputs(config)
    with tempfile.TemporaryDirectory(prefix="posthog-persons-regen-") as work:
        build_tree(upstream, schema, root, config, Path(work))
        if not any(drift(root / rel, Path(work) / rel, rel) for rel in outputs):
            return Outcome(
                "unchanged", "the persons API and the generated client are unchanged", origin
            )
        committed_schema = root / config["filtered_schema"]
        previous = (
            json.loads(committed_schema.read_text("utf-8")) if committed_schema.exists() else None
        )
        replace_trees([(Path(work) / rel, root / rel) for rel in outputs])
    if previous is None:
        summary = f"wrote {config['filtered_schema']} and {config['package_dir']}"
        return Outcome("changed", summary, origin)
    if previous == schema:
        summary = "the generated client changed (generator, templates or pipeline); the API did not"
        return Outcome("changed", summary, origin)
    text = report.change_report(previous, schema, "committed", "regenerated")
    return Outcome("changed", "the persons API changed: see the change report", origin, report=text)


def _refused(
    refusal: PipelineRefusal,
    upstream: dict[str, Any],
    origin: str,
    root: Path,
    config: dict[str, Any],
) -> Outcome:
    """The refusal with upstream's own change: committed snapshot -> the refused schema."""
    snapshot = root / config["upstream_snapshot"]
    try:
        text = report.change_report(
            source.load_file(snapshot), upstream, snapshot.name, source.label(origin)
        )
    except PipelineError as exc:
        text = f"(no change report: {exc})\n"
    return Outcome("refused", refusal.title, origin, refusals=refusal.problems, report=text)


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0] if lines else ""


def _crash_line(error: BaseException) -> str:
    """`KeyError: 'x'`: the exception's type and the first line of its message."""
    text = _first_line(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _emit(text: str, destination: Path | None) -> None:
    if destination is None:
        sys.stdout.write(text)
    else:
        destination.write_text(text, encoding="utf-8")
        print(f"change report written to {destination}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the PostHog persons client from the upstream OpenAPI schema.",
    )
    parser.add_argument(
        "--source",
        help="schema URL or local file (YAML or JSON); default: the live US cloud schema",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and fail if the committed tree differs",
    )
    parser.add_argument(
        "--report",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="print a Markdown report of the persons API changes between two schemas",
    )
    parser.add_argument(
        "--report-out",
        type=Path,
        help="write the change report to this file, not stdout (also when the run is refused)",
    )
    parser.add_argument(
        "--outcome",
        type=Path,
        help="write the run's outcome (status unchanged|changed|refused|failed, summary, "
        "refusals, report) as JSON to this file, for scripts/publish_outcome.py",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except PipelineError as exc:
        print(f"regenerate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regenerate: interrupted; the tree was not changed", file=sys.stderr)
        return 130
    except Exception as exc:
        # Exit 2 like any error (1 means drift found by --check), with the traceback.
        traceback.print_exc()
        print(f"regenerate: unexpected error (a bug): {_crash_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
