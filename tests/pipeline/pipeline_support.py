from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT.parent / "shared" / "upstream"
SNAPSHOT_2026 = UPSTREAM / "posthog-schema-2026-persons.json"
SNAPSHOT_2025 = UPSTREAM / "posthog-schema-2025-11.yaml"
SNAPSHOT_2023 = UPSTREAM / "posthog-schema-2023-02.yaml"
OVERLAY = ROOT / "openapi" / "overlay.yaml"

if not SNAPSHOT_2026.exists():  # pragma: no cover - shared/ always sits beside the clone in CI
    pytest.skip("../shared/upstream is not beside this checkout", allow_module_level=True)


@pytest.fixture(scope="session")
def upstream_2026() -> dict[str, Any]:
    from persons_codegen import source

    return source.load_file(SNAPSHOT_2026)


@pytest.fixture(scope="session")
def upstream_2025() -> dict[str, Any]:
    from persons_codegen import source

    return source.load_file(SNAPSHOT_2025)


@pytest.fixture(scope="session")
def corrected_2026(upstream_2026: dict[str, Any]) -> dict[str, Any]:
    import regenerate

    return regenerate.build_schema(upstream_2026, OVERLAY)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The parts of the repository the pipeline reads and writes, copied to a scratch dir."""
    for name in ("pyproject.toml",):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("openapi", "generated", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    pins = tmp_path / "src" / "posthog_persons" / "_operations.py"
    pins.parent.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "posthog_persons" / "_operations.py", pins)
    return tmp_path


def run_pipeline(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "regenerate.py"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def tree_snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
