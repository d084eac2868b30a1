"""Pull the upstream schema from a URL or a local file, YAML or JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import yaml

from . import PipelineError

try:  # the C loader reads the 2 MB upstream YAML about ten times faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _SchemaLoader(_BaseLoader):
    """A safe loader that keeps timestamps as strings.

    PyYAML turns `2000-01-23 04:56:07+00:00` in examples into datetime objects, which JSON
    cannot hold and which would make the written schema differ from its source.
    """


_SchemaLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def parse_document(text: str, origin: str) -> dict[str, Any]:
    """Parse a JSON or YAML OpenAPI document and check that it is one."""
    try:
        if text.lstrip().startswith("{"):
            document = json.loads(text)
        else:
            document = yaml.load(text, Loader=_SchemaLoader)
    except (ValueError, yaml.YAMLError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(f"{origin} is neither JSON nor YAML: {first_line}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise PipelineError(f"{origin} is not an OpenAPI document (it has no 'paths' object)")
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise PipelineError(
            f"{origin} is not an OpenAPI 3 document (openapi: {version or 'missing'!r})"
        )
    return document


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"schema file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"cannot read schema file {path}: {exc}") from None
    return parse_document(text, str(path))


def fetch_url(url: str, *, timeout: float = 60.0) -> dict[str, Any]:
    """GET the live schema; the personal API key, when set, goes only in the header."""
    headers = {"Accept": "application/json"}
    key = os.environ.get("POSTHOG_PERSONAL_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = httpx.get(url, headers=headers, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise PipelineError(
            f"cannot fetch the schema from {url}: {type(exc).__name__}: {exc}"
        ) from None
    if response.status_code != 200:
        raise PipelineError(f"cannot fetch the schema from {url}: HTTP {response.status_code}")
    return parse_document(response.text, url)


def load(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        return fetch_url(source)
    return load_file(Path(source))


def label(source: str) -> str:
    """How a report names a source: a URL as given, a file by its name."""
    return source if source.startswith(("http://", "https://")) else Path(source).name
