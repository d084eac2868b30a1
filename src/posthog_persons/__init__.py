"""posthog-persons: a typed client for the PostHog persons API.

    from posthog_persons import PersonsClient

    with PersonsClient() as client:  # POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID
        found = client.get_persons_by_distinct_ids(["user-1", "user-2"])
        result = client.bulk_delete(ids=[p.uuid for p in found.values()], delete_events=True)
        client.wait_for_deletions(result.person_uuids, timeout=3600)

The clients (and the retry policy, which need httpx) are imported on first use, so that
`import posthog_persons` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._validation import validate_distinct_id, validate_uuid
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BulkDeleteError,
    BulkDeleteInputError,
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    PostHogError,
    RateLimitError,
    ServerError,
)
from .models import (
    BulkDeleteBatch,
    BulkDeleteBatchResult,
    BulkDeleteProgress,
    BulkDeleteResult,
    DeletionStatus,
    DeletionWaitResult,
    Person,
)
from .pacing import DEFAULT_RATE_LIMITS, Budget, Pacer, RateLimits

if TYPE_CHECKING:
    from .client import AsyncPersonsClient, PersonsClient
    from .retry import RetryPolicy

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncPersonsClient",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BulkDeleteBatch",
    "BulkDeleteBatchResult",
    "BulkDeleteError",
    "BulkDeleteInputError",
    "BulkDeleteProgress",
    "BulkDeleteResult",
    "ConfigurationError",
    "DeletionStatus",
    "DeletionWaitResult",
    "InvalidInputError",
    "MalformedResponseError",
    "NotFoundError",
    "Pacer",
    "PermissionDeniedError",
    "Person",
    "PersonsClient",
    "PostHogError",
    "RateLimitError",
    "RateLimits",
    "RetryPolicy",
    "ServerError",
    "validate_distinct_id",
    "validate_uuid",
]

_LAZY = {
    "PersonsClient": "client",
    "AsyncPersonsClient": "client",
    "RetryPolicy": "retry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'posthog_persons' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"posthog_persons.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
