# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates the virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The persons part of the upstream schema the committed client was generated from.
UPSTREAM ?= openapi/upstream-persons.json
# PYTEST_ARGS lets CI add e.g. --record-mode=none without editing this file.
PYTEST_ARGS ?=

.PHONY: venv test lint typecheck check regenerate report demo bench live-contract clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

test: venv lint typecheck check
	$(BIN)/python -m pytest -m "not bench" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src scripts tests bench
	$(BIN)/ruff format --check src scripts tests bench

typecheck: venv
	$(BIN)/mypy

# The committed openapi/ and generated/ must be exactly what the pipeline makes.
check: venv
	$(BIN)/python scripts/regenerate.py --source $(UPSTREAM) --check

# Pull the live schema (or SOURCE=path) and regenerate openapi/ and generated/.
regenerate: venv
	$(BIN)/python scripts/regenerate.py $(if $(SOURCE),--source $(SOURCE),)

# The committed change report between the last two upstream snapshots.
report: venv
	$(BIN)/python scripts/regenerate.py --report ../shared/upstream/posthog-schema-2025-11.yaml ../shared/upstream/posthog-schema-2026-persons.json --report-out openapi/CHANGES-2025-11-to-2026.md

demo: venv
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

bench: venv
	$(BIN)/python -m pytest -m bench -s bench $(PYTEST_ARGS)

# PostHog itself against the emulator, on a throwaway project: POSTHOG_PERSONAL_API_KEY,
# POSTHOG_PROJECT_ID, POSTHOG_HOST (see README, "Tests"). LIVE_CONTRACT_ARGS e.g. --update-cassettes.
live-contract: venv
	$(BIN)/python scripts/live_contract.py run $(LIVE_CONTRACT_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
