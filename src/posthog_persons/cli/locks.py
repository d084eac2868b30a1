"""One input, one job: a delete job holds a lock named after its ids and its project.

Two runs over the same ids into the same project (with two journals, say) would each send
every id: persons counted twice, totals split, twice the requests. The journal's own lock
cannot see that (the journals differ), so a job also takes a lock on a file named after what
it deletes: the kind and the digest of its validated ids, and the host and project. The file
lives in a per-user directory (`$XDG_CACHE_HOME/posthog-persons/locks`, else
`~/.cache/...`, else the temporary directory) and is never removed: removing a lock file
races with a run that has just opened it. The lock is the kernel's (`flock`): it goes away
with the process however it ends, kill -9 included.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .exits import CLIError, Exit
from .journal import JobSpec

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one run at a time
    fcntl = None  # type: ignore[assignment]

_HOLDER_BYTES = 1024


def _candidates() -> list[Path]:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [
        Path(cache) / "posthog-persons" / "locks",
        Path(tempfile.gettempdir()) / f"posthog-persons-{uid}" / "locks",
    ]


def _directory() -> Path:
    problems = []
    for candidate in _candidates():
        try:
            candidate.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            problems.append(f"{candidate}: {error.strerror}")
            continue
        if os.access(candidate, os.W_OK):
            return candidate
        problems.append(f"{candidate}: not writable")
    raise CLIError(
        "cannot check that no other job is deleting the same ids: no usable lock directory "
        f"({'; '.join(problems)}). Set XDG_CACHE_HOME to a writable directory, or pass "
        "--force if you are sure no other job runs over this input",
        Exit.USAGE,
    )


def job_key(spec: JobSpec) -> str:
    """The same for two jobs exactly when they delete the same ids in the same project."""
    what = "\0".join((spec.kind, spec.ids_sha256, spec.host, spec.scope, spec.project_id))
    return hashlib.sha256(what.encode()).hexdigest()[:40]


@contextlib.contextmanager
def job_lock(spec: JobSpec, *, journal: Path) -> Iterator[None]:
    """Held from before the journal is opened or created until the job ends; refuses (exit
    2) while another job over the same ids and project holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = _directory() / f"{job_key(spec)}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as error:
        raise CLIError(
            f"cannot open the job lock {path}: {error.strerror}; pass --force if you are "
            "sure no other job runs over this input",
            Exit.USAGE,
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, _HOLDER_BYTES, 0).decode("utf-8", "replace").strip()
            raise CLIError(
                "another posthog-persons job is deleting these same ids in the same project "
                f"right now ({holder or 'process unknown'}). Two jobs would send every id "
                "twice and split the counts: wait for it to end, or stop it and run this "
                "command again to resume. --force runs anyway",
                Exit.USAGE,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, journal {journal.absolute()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # and with it the lock; the file stays (see the module doc)
