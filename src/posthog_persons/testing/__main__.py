"""`python -m posthog_persons.testing`: serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._fake import DEFAULT_API_KEY, FakePostHog


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m posthog_persons.testing",
        description="Serve an in-memory PostHog persons API on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--persons", type=int, default=0, help="persons to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project-id", type=int, default=1)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="the 2026 server's rate limits: reads 240/min, deletes 480/min + 4800/h",
    )
    parser.add_argument("--rate-limit", type=int, default=None, help="non-delete requests/min")
    parser.add_argument(
        "--rate-limit-per-hour", type=int, default=None, help="non-delete requests/hour"
    )
    parser.add_argument(
        "--delete-rate-limit",
        type=int,
        default=None,
        help="delete requests/min (480 when throttling is on)",
    )
    parser.add_argument(
        "--delete-rate-limit-per-hour",
        type=int,
        default=None,
        help="delete requests/hour (4800 when throttling is on)",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--deletion-delay", type=float, default=0.0)
    parser.add_argument("--property-update-delay", type=float, default=0.0)
    parser.add_argument(
        "--queued-deletion",
        action="store_true",
        help="answer bulk_delete with persons_queued_for_deletion, deleting the profiles later",
    )
    parser.add_argument(
        "--queued-deletion-delay",
        type=float,
        default=0.0,
        help="seconds before queued profiles vanish",
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip openapi-core checks of each exchange (faster)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    fake = FakePostHog(
        args.persons,
        seed=args.seed,
        project_id=args.project_id,
        api_key=args.api_key,
        latency=args.latency,
        throttle=args.throttle,
        rate_limit_per_minute=args.rate_limit,
        rate_limit_per_hour=args.rate_limit_per_hour,
        delete_rate_limit_per_minute=args.delete_rate_limit,
        delete_rate_limit_per_hour=args.delete_rate_limit_per_hour,
        fault_rate=args.fault_rate,
        deletion_delay=args.deletion_delay,
        property_update_delay=args.property_update_delay,
        queued_deletion=args.queued_deletion,
        queued_deletion_delay=args.queued_deletion_delay,
        validate=not args.no_validate,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with fake.serve(port=args.port, host=args.host) as server:
        # One line each, flushed: callers read these to find the emulator.
        print(f"URL {server.url}", flush=True)
        print(f"PROJECT_ID {fake.project_id}", flush=True)
        print(f"API_KEY {fake.api_key}", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
