"""Bad input files: every line accounted for before anything is deleted."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import Emulator, assert_no_key, invoke, journal_records


def _messy_file(path: Path, good: list[str]) -> None:
    lines = [
        b"# persons to erase, ticket GDPR-1234",
        b"",
        good[0].encode(),
        b"   ",
        b"not-a-uuid",
        good[1].upper().encode(),  # the same UUID, other case: a duplicate
        good[1].encode(),
        b"12345",
        b"bad \xff\xfe bytes",
        b"x" * (10 * 1024 * 1024),  # a 10 MB line
        good[2].encode() + b"\r",  # CRLF line ending
        b"alice@example.com",
        *(g.encode() for g in good[3:]),
        good[0].encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_messy_uuid_file_is_counted_and_only_valid_ids_deleted(
    emulator: Emulator, tmp_path: Path
) -> None:
    good = [p["uuid"] for p in emulator.fake.persons[:10]]
    _messy_file(tmp_path / "uuids.txt", good)

    result = invoke("delete", "--ids-file", "uuids.txt", "--yes", env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    stderr = result.stderr
    assert "10 unique person UUIDs" in stderr
    assert "2 blank" in stderr and "1 comment" in stderr and "2 duplicate" in stderr
    assert "Rejected 5 lines" in stderr
    assert "not a UUID: 3" in stderr
    assert "invalid UTF-8: 1" in stderr
    assert "line too long: 1" in stderr
    assert "line 8: not a UUID (a numeric person id; --ids-file takes person UUIDs)" in stderr
    assert "line 9: invalid UTF-8 (byte 0xff at position 5)" in stderr
    assert "line 10: line too long (10,485,760 bytes" in stderr
    assert "line 12: not a UUID (looks like a distinct id; use --distinct-ids-file" in stderr
    assert len(stderr) < 5_000, "the 10 MB line is not echoed"
    assert re.search(r"persons deleted\s+10\n", result.stdout)
    deleted = {id for r in emulator.bulk_deletes() for id in r.body["ids"]}
    assert deleted == set(good)
    assert len(emulator.fake.persons) == 290


def test_all_invalid_deletes_nothing(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "junk.txt").write_bytes(b"\n\nnope\n\xff\xff\n" + b"y" * 200_000 + b"\n42\n")

    result = invoke("delete", "--ids-file", "junk.txt", "--yes", env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 2
    assert "Rejected 4 lines" in result.stderr
    assert "no valid person UUIDs in junk.txt: nothing to delete" in result.stderr
    assert emulator.bulk_deletes(ok_only=False) == []
    assert not (tmp_path / "junk.txt.journal.jsonl").exists()


def test_distinct_id_rules(emulator: Emulator, tmp_path: Path) -> None:
    first = emulator.fake.persons[0]["distinct_ids"][0]
    (tmp_path / "ids.txt").write_text(f"{first}\nbell\x07id\n{'d' * 401}\n{first}\n")

    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--dry-run", env=emulator.env(), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "1 unique distinct ids" in result.stderr
    assert "control characters: 1" in result.stderr
    assert "too long: 1" in result.stderr
    assert "is too long for a distinct id: 401 characters" in result.stderr
    assert "1 duplicate" in result.stderr


def test_ids_are_exact_strings_whitespace_is_rejected_unless_stripping_is_asked_for(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A file holding " alice" must never delete the person "alice"."""
    alice, bob, carol = emulator.fake.persons[:3]
    spaced = f" {alice['distinct_ids'][0]}"
    lines = [spaced, f"{bob['distinct_ids'][0]}\t", carol["distinct_ids"][0], "   ", ""]
    # CRLF: the terminator goes, and only it (a lone trailing CR is part of the id).
    (tmp_path / "ids.txt").write_bytes("\r\n".join(lines).encode() + b"\r\n")
    command = ("delete", "--distinct-ids-file", "ids.txt", "--yes")

    result = invoke(*command, env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Read ids.txt: 5 lines, 1 unique distinct ids (2 blank lines skipped)." in result.stderr
    assert "Rejected 2 lines (leading or trailing whitespace: 2):" in result.stderr
    assert f"line 1: leading or trailing whitespace ({spaced!r}; --strip-whitespace" in (
        result.stderr
    )
    assert "line 2: leading or trailing whitespace (" in result.stderr
    sent = [i for r in emulator.bulk_deletes() for i in r.body["distinct_ids"]]
    assert sent == [carol["distinct_ids"][0]]
    assert emulator.fake.get_person(alice["uuid"]) is not None, "alice is not ' alice'"
    assert emulator.fake.get_person(bob["uuid"]) is not None

    (tmp_path / "ids.txt").write_text(f"{spaced}\n{bob['distinct_ids'][0]}\t\n")
    stripped = invoke(
        *command, "--strip-whitespace", "--journal", "strip.jsonl", env=emulator.env(), cwd=tmp_path
    )
    assert stripped.returncode == 0, stripped.stderr
    assert "Rejected" not in stripped.stderr
    assert emulator.fake.get_person(alice["uuid"]) is None
    assert emulator.fake.get_person(bob["uuid"]) is None

    # The same rule for UUIDs, and for a CSV cell.
    dave = emulator.fake.persons[0]
    (tmp_path / "u.csv").write_text(f"uuid\n {dave['uuid']}\n")
    cell = invoke(
        "delete", "--ids-file", "u.csv", "--column", "uuid", "--dry-run",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert cell.returncode == 2
    assert "leading or trailing whitespace: 1" in cell.stderr


def test_csv_column_and_missing_column(emulator: Emulator, tmp_path: Path) -> None:
    persons = emulator.fake.persons[:5]
    rows = ["email,Person UUID,note"] + [f'x@y,{p["uuid"]},"a, b"' for p in persons] + ["z,,"]
    (tmp_path / "export.csv").write_text("\n".join(rows) + "\n")

    result = invoke(
        "delete", "--ids-file", "export.csv", "--column", "person uuid", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "5 unique person UUIDs" in result.stderr and "empty cell: 1" in result.stderr
    assert {p["uuid"] for p in persons}.isdisjoint(p["uuid"] for p in emulator.fake.persons)

    missing = invoke(
        "delete", "--ids-file", "export.csv", "--column", "uuid", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "no column 'uuid' in the header line" in missing.stderr
    assert "'Person UUID'" in missing.stderr


def test_ids_from_stdin_need_a_journal(emulator: Emulator, tmp_path: Path) -> None:
    ids = "\n".join(p["distinct_ids"][0] for p in emulator.fake.persons[:30]) + "\n"
    refused = invoke(
        "delete", "--distinct-ids-file", "-", "--yes", env=emulator.env(), cwd=tmp_path, stdin=ids
    )
    assert refused.returncode == 2 and "--journal" in refused.stderr

    result = invoke(
        "delete", "--distinct-ids-file", "-", "--journal", "job.jsonl", "--yes",
        env=emulator.env(), cwd=tmp_path, stdin=ids,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"persons deleted\s+30\n", result.stdout)
    records = journal_records(tmp_path / "job.jsonl")
    assert records[0]["spec"]["input"] == "standard input"
    assert_no_key(result.stdout, result.stderr, (tmp_path / "job.jsonl").read_bytes())


def test_missing_input_file(emulator: Emulator, tmp_path: Path) -> None:
    result = invoke("delete", "--ids-file", "nope.txt", "--yes", env=emulator.env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "posthog-persons: error: input file not found: nope.txt"


def test_csv_with_bom_crlf_and_quoted_fields(emulator: Emulator, tmp_path: Path) -> None:
    tricky = emulator.fake.add_person(["o'brien, anne", "anne@example.test"])
    plain = emulator.fake.persons[-1]
    assert plain["uuid"] != tricky["uuid"]
    rows = [
        '"email","Distinct ID","note"',
        '"anne@example.test","o\'brien, anne","said ""delete me"", twice"',
        f'x@y,"{plain["distinct_ids"][0]}",',
        f"x@y,{plain['distinct_ids'][0]},duplicate",
        "# a comment",
        "",
        'x@y,"",empty',
    ]
    data = b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n"
    (tmp_path / "export.csv").write_bytes(data)

    result = invoke(
        "delete", "--distinct-ids-file", "export.csv", "--column", "distinct id", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "2 unique distinct ids (1 blank, 1 comment, 1 duplicate lines skipped)" in result.stderr
    assert "empty cell: 1" in result.stderr
    sent = [i for r in emulator.bulk_deletes() for i in r.body["distinct_ids"]]
    assert sent == ["o'brien, anne", plain["distinct_ids"][0]]
    assert emulator.fake.get_person(tricky["uuid"]) is None


def test_bom_and_crlf_in_a_plain_list(emulator: Emulator, tmp_path: Path) -> None:
    uuids = [p["uuid"] for p in emulator.fake.persons[:3]]
    (tmp_path / "u.txt").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(u.encode() for u in uuids))

    result = invoke("delete", "--ids-file", "u.txt", "--dry-run", env=emulator.env(), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Read u.txt: 3 lines, 3 unique person UUIDs." in result.stderr
    assert "Rejected" not in result.stderr
    assert re.search(r"persons to delete\s+3\n", result.stdout)
