"""An in-memory emulator of the PostHog persons API, for tests, demos and benchmarks.

    fake = FakePostHog(persons=250, seed=7)
    with httpx.Client(transport=fake.transport(), base_url=fake.host) as client: ...
    with fake.serve(port=0) as server: ...  # real HTTP at server.url

or from a shell: ``python -m posthog_persons.testing --port 0 --persons 10000``.
"""

from ._contract import EmulatorContractError, find_schema
from ._core import (
    DEFAULT_API_KEY,
    DEFAULT_SCOPES,
    EmulatorResponse,
    FakePostHog,
    RecordedRequest,
)
from ._server import EmulatorServer
from ._transport import EmulatorAsyncTransport, EmulatorTransport

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SCOPES",
    "EmulatorAsyncTransport",
    "EmulatorContractError",
    "EmulatorResponse",
    "EmulatorServer",
    "EmulatorTransport",
    "FakePostHog",
    "RecordedRequest",
    "find_schema",
]
