from pipeline_support import (  # noqa: F401 - fixtures are found by name
    corrected_2025,
    repo_copy,
    upstream_2023,
    upstream_2025,
)
