"""posthog-persons: a typed client for the PostHog persons API."""
