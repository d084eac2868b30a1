"""On a real (pseudo-)terminal: the confirmation prompt and the progress bar."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import Emulator, assert_no_key, run_in_terminal, write_lines


def test_confirmed_on_a_terminal_the_bar_renders_and_ends_on_a_sane_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:250]])

    code, output = run_in_terminal(
        "delete", "--distinct-ids-file", "ids.txt", "--batch-size", "25",
        env=emulator.env(), cwd=tmp_path, answer="y",
    )  # fmt: skip

    assert code == 0, output
    assert "About to delete the persons of 250 distinct ids\r\n" in output
    assert f"in project 1 at {emulator.url}. This cannot be undone." in output
    # Redrawn in place: carriage return and erase-line, never a new line per update.
    _, _, rest = output.partition("Proceed? [y/N] y\r\n")
    bar, _, report = rest.partition("\r\nDelete job complete")
    frames = bar.split("\r\x1b[K")
    assert frames[0] == "" and len(frames) >= 2 and "\n" not in bar
    assert frames[-1].startswith("[########################] delete: 250/250 ids (100%), ")
    assert re.fullmatch(
        r"\[#{24}\] delete: 250/250 ids \(100%\), [\d,]+ ids/s, 250 deleted, 0 queued",
        frames[-1],
    )
    for frame in frames[1:-1]:
        pattern = r"\[[#.]{24}\] delete: [\d,]+/250 ids \(\d+%\), [\d,]+ ids/s, [\d,]+ deleted, .*"
        assert re.fullmatch(pattern, frame), frame
    assert re.search(r"persons deleted\s+250\r\n", report)
    assert len(emulator.fake.persons) == 50
    assert_no_key(output)


def test_declined_on_a_terminal_nothing_is_deleted(emulator: Emulator, tmp_path: Path) -> None:
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:5]])

    code, output = run_in_terminal(
        "delete", "--distinct-ids-file", "ids.txt", env=emulator.env(), cwd=tmp_path, answer="n"
    )

    assert code == 130, output
    assert "About to delete the persons of 5 distinct ids" in output
    assert "not confirmed; nothing was deleted" in output
    assert emulator.bulk_deletes(ok_only=False) == []
    assert not (tmp_path / "ids.txt.journal.jsonl").exists()
