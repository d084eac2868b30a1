"""The regeneration pipeline: pull -> filter -> correct -> write -> generate -> check.

Kept apart from the shipped packages (githubkit's `codegen/` layout); `scripts/regenerate.py`
is its command line.
"""


class PipelineError(Exception):
    """A failure the user can act on; the command line prints it as one line, no traceback."""
