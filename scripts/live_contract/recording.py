"""Scenarios run into vcrpy cassettes (the format pytest-recording replays), secrets scrubbed.

The live host and project id become placeholders, so cassettes recorded against PostHog and
against the emulator (which answers on the placeholders) read alike and replay alike; every
credential-bearing header is dropped and anything shaped like a PostHog key is redacted
before a byte is written.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vcr  # type: ignore[import-untyped]  # vcrpy ships no type information

from .scenarios import Context, Keep, Scenario, Target
from .seeding import SeedPlan

PLACEHOLDER_HOST = "https://posthog.invalid"
PLACEHOLDER_PROJECT = "1"
# Personal (phx_), project (phc_) and session (phs_) keys, wherever they appear.
TOKEN = re.compile(r"ph[a-z]_[A-Za-z0-9_-]{8,}")
REDACTED = "phx_REDACTED"
SECRET_HEADERS = ("authorization", "cookie", "set-cookie", "x-csrftoken")
OUTCOMES = "outcomes.json"


@dataclass(frozen=True)
class Scrubber:
    """Rewrites what was recorded against `host`/`project_id` onto the placeholders."""

    host: str = PLACEHOLDER_HOST
    project_id: str = PLACEHOLDER_PROJECT

    def text(self, text: str) -> str:
        text = text.replace(self.host, PLACEHOLDER_HOST)
        if self.project_id != PLACEHOLDER_PROJECT:
            text = re.sub(
                rf"/api/(projects|environments)/{re.escape(self.project_id)}(?=[/?\"']|$)",
                rf"/api/\1/{PLACEHOLDER_PROJECT}",
                text,
            )
        return TOKEN.sub(REDACTED, text)

    def _body(self, body: Any) -> Any:
        if not body:
            return body
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return self.text(text).encode()

    def request(self, request: Any) -> Any:
        request.uri = self.text(request.uri)
        for name in list(request.headers):
            if name.lower() in SECRET_HEADERS:
                del request.headers[name]
        request.body = self._body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            name: [self.text(v) for v in values]
            for name, values in response["headers"].items()
            if name.lower() not in SECRET_HEADERS
        }
        body = response.get("body", {})
        if body.get("string"):
            body["string"] = self._body(body["string"])
        return response


def vcr_config(scrubber: Scrubber | None = None, keep: Keep | None = None) -> dict[str, Any]:
    """The vcrpy settings of every cassette: recording here, replaying in tests/contract."""
    scrub = scrubber or Scrubber()

    def before_record_response(response: dict[str, Any]) -> dict[str, Any] | None:
        if keep is not None and not keep(response["status"]["code"]):
            return None  # vcrpy leaves an interaction out when this returns None
        return scrub.response(response)

    return {
        "filter_headers": list(SECRET_HEADERS),
        "before_record_request": scrub.request,
        "before_record_response": before_record_response,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "decode_compressed_response": True,
    }


def record(
    scenarios: Iterable[Scenario],
    target: Target,
    plan: SeedPlan,
    into: Path,
    scrubber: Scrubber | None = None,
) -> dict[str, str]:
    """Run each scenario against `target`, one cassette each under `into`; never raises.

    Returns (and writes to `into/outcomes.json`) each scenario's outcome: "ok" or why it
    failed. The seed plan is saved beside the cassettes: a replay needs its distinct ids.
    """
    scrub = scrubber or Scrubber()
    outcomes: dict[str, str] = {}
    plan.save(into)
    for scenario in scenarios:
        if scenario.wait_before:
            target.wait(scenario.wait_before)
        path = into / scenario.cassette
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        recorder = vcr.VCR(record_mode="all", **vcr_config(scrub, scenario.keep))
        try:
            with recorder.use_cassette(str(path)):
                scenario.run(Context(target, plan))
        except Exception as error:  # a failed check is a finding, not the end of the run
            where = traceback.extract_tb(error.__traceback__)[-1]
            outcomes[scenario.cassette] = scrub.text(
                f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"
            )
        else:
            outcomes[scenario.cassette] = "ok"
    (into / OUTCOMES).write_text(json.dumps(outcomes, indent=2) + "\n", encoding="utf-8")
    return outcomes
