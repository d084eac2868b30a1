#!/usr/bin/env python3
"""The live contract check: PostHog itself against the emulator. See scripts/live_contract/.

    POSTHOG_PERSONAL_API_KEY=phx_... POSTHOG_PROJECT_ID=12345 POSTHOG_HOST=https://us.posthog.com \
        python scripts/live_contract.py            # or: make live-contract
"""

import sys

from live_contract.cli import main

if __name__ == "__main__":
    sys.exit(main())
