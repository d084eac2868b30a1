"""Where to connect and with which key: flags first, then the environment.

The key comes only from POSTHOG_PERSONAL_API_KEY or a file (`--api-key-file`): a key typed as a
flag would land in shell history and in `ps` output for every user of the machine.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posthog_persons.errors import ConfigurationError
from posthog_persons.pacing import Pacer

from .exits import CLIError, Exit

if TYPE_CHECKING:
    from posthog_persons import PersonsClient

KEY_ENV = "POSTHOG_PERSONAL_API_KEY"
_KEY_HELP = f"set {KEY_ENV} or pass --api-key-file PATH"
# Keys read in this process, for the log filter that masks them should anything log one.
_secrets: set[str] = set()


REDACTED = "phx_***"


def known_secrets() -> frozenset[str]:
    return frozenset(_secrets | {os.environ.get(KEY_ENV, "").strip()} - {""})


def redact(text: str) -> str:
    """`text` with every key this process knows masked.

    For all text that did not originate here (a server's error body can echo the
    Authorization header) before it reaches the terminal, a log record or the journal.
    """
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class Target:
    """The host and project scope every request of a run goes to."""

    host: str
    scope: str
    project_id: str

    def describe(self) -> str:
        noun = "project" if self.scope == "projects" else "environment"
        return f"{noun} {self.project_id} at {self.host}"


def read_api_key(args: argparse.Namespace) -> str:
    path: str | None = getattr(args, "api_key_file", None)
    if path is None:
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise CLIError(
                f"no API key: {_KEY_HELP} (a personal API key, phx_..., "
                "with the person:read and person:write scopes)"
            )
        source = KEY_ENV
    else:
        key = _read_key_file(Path(path))
        source = path
    _secrets.add(key)
    if key.startswith("phc_"):
        raise CLIError(
            f"the key in {source} is a project API key (phc_...), which only sends events; "
            "the persons API needs a personal API key (phx_...)"
        )
    return key


def _read_key_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
        info = path.stat()
    except FileNotFoundError:
        raise CLIError(f"API key file not found: {path}") from None
    except OSError as error:
        raise CLIError(f"cannot read the API key file {path}: {error.strerror}") from None
    try:
        lines = [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise CLIError(f"the API key file {path} is not text") from None
    if len(lines) != 1 or any(ch.isspace() for ch in lines[0]):
        raise CLIError(f"the API key file {path} must hold exactly one key on one line")
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"warning: {path} is readable by other users; protect it with: chmod 600 {path}",
            file=sys.stderr,
        )
    return lines[0]


# The flag that sets each client setting the CLI passes (ConfigurationError.setting).
_FLAGS = {"host": "--host", "project_id": "--project-id", "environment_id": "--environment-id"}


def make_client(
    api_key: str,
    *,
    host: str | None,
    project_id: str | None,
    environment_id: str | None,
    pacer: Pacer,
) -> PersonsClient:
    """A client for the flags given, else POSTHOG_HOST / POSTHOG_PROJECT_ID / ...; no request.

    `pacer` is the run's one pacer (`main` makes it): the server throttles per key, so every
    client of a run shares one budget rather than having one each.
    """
    from posthog_persons import PersonsClient

    given = {"host": host, "project_id": project_id, "environment_id": environment_id}
    try:
        with warnings.catch_warnings():
            # --environment-id is documented as an alias of --project-id; no Python warning.
            warnings.simplefilter("ignore", DeprecationWarning)
            return PersonsClient(
                api_key,
                host=host,
                project_id=project_id,
                environment_id=environment_id,
                pacer=pacer,
            )
    except ConfigurationError as error:
        raise CLIError(_flag_message(error, given), Exit.USAGE) from None


def _flag_message(error: ConfigurationError, given: dict[str, str | None]) -> str:
    """The client's message, in terms of the flag the setting came from (it speaks of its
    keyword arguments); a setting read from the environment is named so already."""
    flag = _FLAGS.get(error.setting)
    if flag is None or error.env_var is not None:
        return error.message
    if given.get(error.setting) is None:
        if error.setting == "project_id":  # nothing given at all
            return "no project: pass --project-id ID, or set POSTHOG_PROJECT_ID"
        return error.message
    if error.message.startswith(f"{error.setting} "):
        return flag + error.message[len(error.setting) :]
    return f"{flag}: {error.message}"


def client_from_args(args: argparse.Namespace) -> PersonsClient:
    return make_client(
        read_api_key(args),
        host=getattr(args, "host", None),
        project_id=getattr(args, "project_id", None),
        environment_id=getattr(args, "environment_id", None),
        pacer=args.pacer,
    )


def target_of(client: PersonsClient) -> Target:
    return Target(host=client.host, scope=client.scope, project_id=client.project_id)
