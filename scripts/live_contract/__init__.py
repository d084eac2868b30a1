"""The live contract check: PostHog itself against the emulator, operation by operation.

    make live-contract      # POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST

1. `settings`: the environment, refused before any request when incomplete.
2. `guard`: every live request must carry the named project's id; the project must be a
   throwaway one (a handful of persons) and the capture token must be its own.
3. `seeding`: a few persons through the capture API (`$identify` with `$set`), polled until
   the persons API shows them; the emulator gets a mirror of the same records.
4. `scenarios`: every facade workflow and every generated operation (and the error answers),
   run once against each side; `recording` writes each run as vcrpy cassettes (secrets
   scrubbed) - the same cassettes tests/contract replays.
5. `compare` + `report`: the two sets of cassettes, exchange by exchange: status codes, body
   shapes, pagination links, Retry-After, error bodies -> divergence report (Markdown, JSON).
6. `publish`: the scheduled workflow opens or updates one GitHub issue while they disagree.
"""
