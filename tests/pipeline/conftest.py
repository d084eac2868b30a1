from pipeline_support import (  # noqa: F401 - fixtures are found by name
    corrected_2026,
    repo_copy,
    upstream_2025,
    upstream_2026,
)
