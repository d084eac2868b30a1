"""Running the real `posthog-persons` console script against the emulator's HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posthog_persons.testing import FakePostHog, RecordedRequest

# Distinctive, so that a grep for it cannot match anything else.
API_KEY = "phx_cli_SECRET_5c1f0e9a7b3d42c6"
PROJECT_ID = 1

_SCRIPT = Path(sys.executable).with_name("posthog-persons")
# The installed console script when there is one (it is what users run), else the module.
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "posthog_persons.cli"]


@dataclass
class Emulator:
    fake: FakePostHog
    url: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
        env.update(
            POSTHOG_PERSONAL_API_KEY=API_KEY,
            POSTHOG_HOST=self.url,
            POSTHOG_PROJECT_ID=str(PROJECT_ID),
            # Plain progress lines, and promptly, so that a test sees them.
            COLUMNS="100",
        )
        env.update(extra)
        return env

    def bulk_deletes(self, *, ok_only: bool = True) -> list[RecordedRequest]:
        return [
            r
            for r in self.fake.requests
            if r.operation == "bulk_delete" and (r.status == 202 or not ok_only)
        ]


def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    completed = subprocess.run(
        [*CLI, *args],
        env=env,
        cwd=cwd,
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        # No controlling terminal: the CLI must never find one to prompt on.
        start_new_session=True,
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def start_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def journal_records(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a journal (a truncated last line is not a record)."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    return [json.loads(line) for line in raw.split(b"\n")[:-1]]


def last_record(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 200_000))
        lines = handle.read().split(b"\n")[:-1]
    if not lines:
        return None
    try:
        record: dict[str, Any] = json.loads(lines[-1])
    except ValueError:
        return None
    return record


def wait_for(
    condition: Callable[[], bool], *, timeout: float = 60, interval: float = 0.002
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def assert_no_key(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert API_KEY.encode() not in data
        # Not even a prefix long enough to be useful.
        assert API_KEY[:16].encode() not in data
