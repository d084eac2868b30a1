"""Failures are one line that says what to fix, with the right exit code and never the key."""

from __future__ import annotations

from pathlib import Path

from cli_support import API_KEY, Emulator, assert_no_key, invoke, write_lines


def _one_line_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("posthog-persons: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def test_401_bad_key(emulator: Emulator, tmp_path: Path) -> None:
    write_lines(tmp_path / "ids.txt", ["alice"])
    wrong = "phx_wrong_SECRET_0000111122223333"
    for args in (
        ("delete", "--distinct-ids-file", "ids.txt", "--yes"),
        ("export",),
        ("get", "1"),
    ):
        result = invoke(*args, env=emulator.env(POSTHOG_PERSONAL_API_KEY=wrong), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        line = _one_line_error(result.stderr)
        assert "rejected the API key" in line and "POSTHOG_PERSONAL_API_KEY" in line
        assert wrong not in result.stdout + result.stderr
    assert emulator.bulk_deletes(ok_only=False) == []


def test_403_missing_scope(emulator: Emulator, tmp_path: Path) -> None:
    read_only = "phx_readonly_SECRET_44445555"
    emulator.fake.add_api_key(read_only, ["person:read"])
    write_lines(tmp_path / "ids.txt", [emulator.fake.persons[0]["distinct_ids"][0]])

    result = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--yes",
        env=emulator.env(POSTHOG_PERSONAL_API_KEY=read_only), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    assert "permission denied" in line and "'person:write'" in line
    assert "re-run the same command to resume" in line
    assert read_only not in result.stdout + result.stderr
    assert len(emulator.fake.persons) == 300


def test_key_only_from_env_or_file(emulator: Emulator, tmp_path: Path) -> None:
    env = emulator.env()
    del env["POSTHOG_PERSONAL_API_KEY"]
    missing = invoke("export", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "no API key: set POSTHOG_PERSONAL_API_KEY or pass --api-key-file" in missing.stderr

    flag = invoke("--api-key", API_KEY, "export", env=env, cwd=tmp_path)
    assert flag.returncode == 2
    assert "there is no --api-key option" in _one_line_error(flag.stderr)
    assert_no_key(flag.stdout, flag.stderr)
    glued = invoke("export", f"--api-key={API_KEY}", env=env, cwd=tmp_path)
    assert glued.returncode == 2
    assert_no_key(glued.stdout, glued.stderr)

    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    key_file.chmod(0o600)
    ok = invoke("--api-key-file", str(key_file), "get", "1", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    key_file.chmod(0o644)
    loose = invoke("get", "1", "--api-key-file", str(key_file), env=env, cwd=tmp_path)
    assert loose.returncode == 0
    assert "chmod 600" in loose.stderr
    assert_no_key(ok.stdout, ok.stderr, loose.stderr)


def test_configuration_errors(emulator: Emulator, tmp_path: Path) -> None:
    env = emulator.env()
    cases = {
        ("--project-id", "abc", "get", "1"): "--project-id must be a numeric id",
        ("--host", "us.posthog.com", "get", "1"): "host must be a base URL",
        ("--host", "https://us.i.posthog.com", "get", "1"): "ingestion host",
        ("--project-id", "999", "get", "1"): "project not found",
        ("get", "alice@example.com"): "neither a numeric person id nor a person UUID",
    }
    for args, expected in cases.items():
        result = invoke(*args, env=env, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in _one_line_error(result.stderr), result.stderr
    project_key = invoke("get", "1", env={**env, "POSTHOG_PERSONAL_API_KEY": "phc_x"}, cwd=tmp_path)
    assert project_key.returncode == 2
    assert "project API key (phc_...)" in project_key.stderr


def test_verbose_logs_never_show_the_key(emulator: Emulator, tmp_path: Path) -> None:
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:20]])
    result = invoke(
        "-vv", "delete", "--distinct-ids-file", "ids.txt", "--delete-events", "--yes",
        env=emulator.env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "bulk_delete" in result.stderr, "-vv logs the requests"
    assert_no_key(result.stdout, result.stderr, (tmp_path / "ids.txt.journal.jsonl").read_bytes())
    bad = invoke("-v", "get", "1", env=emulator.env(POSTHOG_PROJECT_ID="999"), cwd=tmp_path)
    assert bad.returncode == 2
    assert_no_key(bad.stdout, bad.stderr)


def test_status_of_jobs_with_nothing_to_track_and_of_bad_journals(
    emulator: Emulator, tmp_path: Path
) -> None:
    write_lines(tmp_path / "ids.txt", [p["distinct_ids"][0] for p in emulator.fake.persons[:5]])
    deleted = invoke(
        "delete", "--distinct-ids-file", "ids.txt", "--yes", env=emulator.env(), cwd=tmp_path
    )
    assert deleted.returncode == 0, deleted.stderr
    requests = len(emulator.fake.requests)
    status = invoke(
        "status", "--journal", "ids.txt.journal.jsonl", "--wait", env=emulator.env(), cwd=tmp_path
    )
    assert status.returncode == 0, status.stderr
    assert "5 of 5 distinct ids processed, 5 persons deleted; complete." in status.stdout
    assert "did not ask for event deletion (--delete-events): nothing to track" in status.stdout
    assert len(emulator.fake.requests) == requests

    missing = invoke("status", "--journal", "nope.jsonl", env=emulator.env(), cwd=tmp_path)
    assert missing.returncode == 2
    assert "journal nope.jsonl: not found" in _one_line_error(missing.stderr)
    write_lines(tmp_path / "ids.txt", ["not json"])
    other = invoke("status", "--journal", "ids.txt", env=emulator.env(), cwd=tmp_path)
    assert other.returncode == 2
    assert "is not a posthog-persons journal" in _one_line_error(other.stderr)
    bad_timeout = invoke(
        "status", "--journal", "ids.txt", "--timeout", "soon", env=emulator.env(), cwd=tmp_path
    )
    assert bad_timeout.returncode == 2 and "not a duration: 'soon'" in bad_timeout.stderr
