"""The `posthog-persons` command line: resumable erasure jobs, exports, lookups, status."""

from .app import main

__all__ = ["main"]
