"""Running the real `posthog-persons` console script against the emulator's HTTP server."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posthog_persons.testing import EmulatorResponse, FakePostHog, RecordedRequest

# Distinctive, so that a grep for it cannot match anything else.
API_KEY = "phx_cli_SECRET_5c1f0e9a7b3d42c6"
PROJECT_ID = 1

_SCRIPT = Path(sys.executable).with_name("posthog-persons")
# The installed console script when there is one (it is what users run), else the module.
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "posthog_persons.cli"]


# Code run in the CLI's process before `main`, through `run_cli(..., prelude=...)`: the real
# command line, with one thing changed for the test.
_RUNNER = "import sys\n{prelude}\nfrom posthog_persons.cli import main\nraise SystemExit(main())\n"
# The facade's retries after 5xx and dropped connections, at its usual count but without the
# seconds of backoff (the CLI has deliberately no flag for it).
FAST_RETRIES = (
    "import functools\n"
    "import posthog_persons.client\n"
    "from posthog_persons.retry import RetryPolicy\n"
    "posthog_persons.client.RetryPolicy = functools.partial(\n"
    "    RetryPolicy, backoff_base=0.001, backoff_max=0.005\n"
    ")\n"
)
# Prints the process's peak resident memory (Linux: VmHWM) to stderr at exit. Not ru_maxrss,
# which on Linux keeps the peak of the forked test process across the exec.
PEAK_MEMORY = (
    "import atexit\n"
    "def _peak():\n"
    "    if not sys.platform.startswith('linux'):\n"
    "        return\n"
    "    with open('/proc/self/status') as status:\n"
    "        line = next(x for x in status if x.startswith('VmHWM:'))\n"
    "    print('peak memory kB:', line.split()[1], file=sys.stderr)\n"
    "atexit.register(_peak)\n"
)


@dataclass
class Emulator:
    fake: FakePostHog
    url: str
    # The CLI's per-user cache (its job locks) for this test, not the real one.
    cache: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
        env.update(
            POSTHOG_PERSONAL_API_KEY=API_KEY,
            POSTHOG_HOST=self.url,
            POSTHOG_PROJECT_ID=str(PROJECT_ID),
            # Plain progress lines, and promptly, so that a test sees them.
            COLUMNS="100",
            XDG_CACHE_HOME=str(self.cache),
        )
        env.update(extra)
        return env

    def bulk_deletes(self, *, ok_only: bool = True) -> list[RecordedRequest]:
        return [
            r
            for r in self.fake.requests
            if r.operation == "persons_bulk_delete_create" and (r.status == 202 or not ok_only)
        ]

    def sent_counts(self) -> Counter[str]:
        """How many accepted bulk_delete requests carried each id."""
        counts: Counter[str] = Counter()
        for request in self.bulk_deletes():
            counts.update(request.body.get("distinct_ids") or request.body.get("ids") or [])
        return counts

    def write_distinct_ids(self, path: Path, count: int | None = None) -> list[str]:
        """The first distinct id of each of the first `count` persons (all by default),
        written to `path` one per line."""
        persons = self.fake.persons[:count] if count else self.fake.persons
        ids = [person["distinct_ids"][0] for person in persons]
        write_lines(path, ids)
        return ids


def lose_answers(
    fake: FakePostHog, operation: str, lost: Callable[[int], bool]
) -> Callable[[], None]:
    """The emulator acts on call n of `operation` as usual, then answers 502 if `lost(n)`:
    a request that did its work but whose answer never came back (the emulator's own
    `override` answers without acting, `transform` keeps the status). Returns the undo."""
    original = fake.handle
    calls = [0]

    def handle(method: str, url: str, headers: Any = None, body: bytes | None = None) -> Any:
        answer = original(method, url, headers, body)
        if fake.requests and fake.requests[-1].operation == operation:
            calls[0] += 1
            if lost(calls[0]):
                return EmulatorResponse(502, {}, b"")
        return answer

    # The HTTP server calls `fake.handle`: an instance attribute shadows the method.
    fake.handle = handle  # type: ignore[method-assign]
    return lambda: vars(fake).pop("handle", None)


def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | bytes | None = None,
    timeout: float = 120,
    prelude: str | None = None,
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    command = CLI if prelude is None else [sys.executable, "-c", _RUNNER.format(prelude=prelude)]
    completed = subprocess.run(
        [*command, *args],
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


def invoke(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | bytes = b""
) -> subprocess.CompletedProcess[str]:
    """Run the CLI's `main` in this process: what `run_cli` does, without a new interpreter.

    For everything that does not need a process of its own (kills, signals, locks held by
    another process, resource limits): about 30x faster than `run_cli`. The environment, the
    working directory and the standard streams are the CLI's for the call, then restored;
    standard input is never a terminal, so the CLI can never prompt.
    """
    from posthog_persons.cli import main

    data = stdin.encode() if isinstance(stdin, str) else stdin
    stdout, stderr = io.BytesIO(), io.BytesIO()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    wrappers = (
        io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
        io.TextIOWrapper(stdout, encoding="utf-8", newline="\n", write_through=True),
        io.TextIOWrapper(stderr, encoding="utf-8", newline="\n", write_through=True),
    )
    sys.stdin, sys.stdout, sys.stderr = wrappers
    try:
        code = main(list(args))
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        for wrapper in wrappers:
            wrapper.flush()
            wrapper.detach()  # or collecting the wrapper would close the buffer under it
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(
        ["posthog-persons", *args],
        code,
        stdout.getvalue().decode("utf-8", "replace"),
        stderr.getvalue().decode("utf-8", "replace"),
    )


def run_in_terminal(
    *args: str, env: dict[str, str], cwd: Path, answer: str | None = None, timeout: float = 60
) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; answer its prompt.

    Returns the exit code and everything it wrote, as the terminal got it (CRLF line ends).
    """
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args], env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no exit in {timeout}s; output so far: {output!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.2))
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every copy of the terminal's other side is closed
                data = b""
            if not data:
                break
            output += data
            if answer is not None and not answered and b"Proceed? [y/N] " in output:
                os.write(master, answer.encode() + b"\n")
                answered = True
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return code, output.decode("utf-8", "replace")


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
