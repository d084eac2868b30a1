"""The benchmark's report: bench/results/results.md, copied into README's "Benchmarks" section
between its `<!-- bench:begin -->` and `<!-- bench:end -->` markers."""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

from erasure import Erasure, Latency
from overhead import PAGE_SIZE, Memory, Overhead

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "results.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
OVERHEAD_TARGET = 1.3
FLOOR_TARGET = 1.10


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "**not met**"


def overhead_section(loopback: Overhead, in_process: Overhead, memory: Memory) -> str:
    def row(label: str, o: Overhead, target: str) -> str:
        return (
            f"| {label} | {o.raw_s:.3f} s ({o.raw_cpu_s:.3f} s) "
            f"| {o.facade_s:.3f} s ({o.facade_cpu_s:.3f} s) "
            f"| **{o.ratio:.2f}x** ({o.cpu_ratio:.2f}x) | {target} |"
        )

    return "\n".join(
        [
            f"Iterating {loopback.persons:,} persons ({PAGE_SIZE} a page), best of "
            f"{loopback.runs} alternating runs of each loop; wall-clock time, and in brackets "
            "the client process's CPU time (steadier when other jobs share the machine):",
            "",
            "| server | hand-written httpx + json | `iter_persons` | ratio | target |",
            "| --- | --- | --- | --- | --- |",
            row(
                "loopback HTTP: the static server in its own process",
                loopback,
                f"<= {OVERHEAD_TARGET}x: {_verdict(loopback.ratio, OVERHEAD_TARGET)}",
            ),
            row(
                "in-process: the same pages from an httpx.MockTransport",
                in_process,
                "none: no socket at all, the client's own cost undiluted",
            ),
            "",
            f"Memory held by the client while iterating (tracemalloc, over the loopback server): "
            f"{memory.early_kib:.0f} KiB after {memory.early_at:,} persons, "
            f"{memory.late_kib:.0f} KiB after {memory.late_at:,}; peak {memory.peak_kib:.0f} KiB "
            "(flat: about one page held).",
        ]
    )


def erasure_section(rows: list[Erasure], latency: Latency) -> str:
    lines = [
        f"`bulk_delete(distinct_ids=..., delete_events=...)` with the default budgets, on a "
        f"simulated clock; modelled latency {latency.lookup:g} s per lookup (200 ids), "
        f"{latency.delete:g} s per bulk delete (1000 ids):",
        "",
        "| ids | events | requests (deletes + lookups) | ours | floor | ours / floor "
        "| throttles alone | 429s | real time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(rows, key=lambda r: (r.ids, r.delete_events)):
        lines.append(
            f"| {row.ids:,} | {'yes' if row.delete_events else 'no'} "
            f"| {row.deletes:,} + {row.lookups:,} | {duration(row.simulated_s)} "
            f"| {duration(row.floor_s)} | **{row.ratio:.2f}x** "
            f"({_verdict(row.ratio, FLOOR_TARGET)}: <= {FLOOR_TARGET:.2f}x) "
            f"| {duration(row.throttles_s)} | {row.throttled} | {row.real_s:.1f} s |"
        )
    return "\n".join(lines)


def write(overhead: str | None, erasure: str | None) -> str:
    """Write results.md and the README's section from whichever parts were measured now
    (a part not measured in this run keeps its previous text)."""
    previous = _sections(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    parts = {
        "Iteration overhead": overhead or previous.get("Iteration overhead", "(not measured)"),
        "Erasure time": erasure or previous.get("Erasure time", "(not measured)"),
    }
    machine = (
        f"Measured on {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {sys.version.split()[0]}, by `make bench`."
    )
    text = "".join(f"### {title}\n\n{body}\n\n" for title, body in parts.items()) + machine + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(readme):
        block = f"{BEGIN}\n{text.replace('### ', '#### ')}{END}"
        README.write_text(pattern.sub(lambda _: block, readme), encoding="utf-8")
    return text


def _sections(text: str) -> dict[str, str]:
    found = re.findall(
        r"^### (.+?)\n\n(.*?)\n\n(?=### |Measured on)", text, re.DOTALL | re.MULTILINE
    )
    return dict(found)
