"""`python -m posthog_persons.cli`: the same as the `posthog-persons` console script."""

from posthog_persons.cli import main

raise SystemExit(main())
