"""The ETA accounts for the server's rate budgets; the bar redraws on a terminal only."""

from __future__ import annotations

import io

import pytest

from posthog_persons.cli.progress import Progress, format_duration
from posthog_persons.pacing import DEFAULT_RATE_LIMITS, paced_seconds

DELETES = DEFAULT_RATE_LIMITS.deletes  # 480/minute, 4800/hour


@pytest.mark.parametrize(
    ("requests", "recent", "expected"),
    [
        (0, [], 0.0),
        (25, [], 0.0),  # inside the burst: no waiting at all
        (480, [], 0.0),
        (481, [], 60.0),  # one more than a minute's budget
        (4800, [], 9 * 60.0),  # ten minutes of bursts
        (9600, [], 3600.0 + 9 * 60.0),  # then the hour's budget is spent
        (1, [1000.0 - 10] * 480, 50.0),  # a full minute, its oldest 10 s ago
        (1, [1000.0 - 100] * 4800, 3500.0),  # a full hour, from a run that stopped
    ],
)
def test_paced_seconds(requests: int, recent: list[float], expected: float) -> None:
    assert paced_seconds(requests, DELETES, recent, now=1000.0) == pytest.approx(expected)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (5, 75, 3725, 200_000)] == [
        "5s",
        "1m15s",
        "1h02m",
        "2d07h",
    ]


def test_plain_lines_show_the_budget_eta() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(
        out,
        total=9_600_000,
        unit="ids",
        label="delete",
        eta=lambda left: paced_seconds(-(-left // 1000), DELETES, [], 0.0),
        interval=10.0,
        tty=False,
        clock=lambda: now[0],
    )
    now[0] = 1.0
    progress.update(100_000)
    now[0] = 2.0
    progress.update(200_000)  # within the interval: not printed
    progress.close()
    lines = out.getvalue().splitlines()
    # At 100,000 ids/s the rest would take 95 s; the budgets say an hour and nine minutes.
    assert lines == ["delete: 100,000/9,600,000 ids (1%), 100,000 ids/s, ETA 1h09m"]


def test_terminal_bar_redraws_in_place() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, total=10, unit="ids", label="x", tty=True, clock=lambda: now[0])
    for done in (2, 5, 10):
        now[0] += 1
        progress.update(done)
    progress.close()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.endswith("\n")
    assert "[########################] x: 10/10 ids (100%)" in text
