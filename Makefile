# Everyday commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## Show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/gateway: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,postgres]"
	touch $@

install: $(BIN)/gateway ## Create .venv and install the gateway with its dev tools and PostgreSQL driver

.env: | $(BIN)/gateway
	umask 077 && $(BIN)/python -c "import base64, re, secrets; \
	text = open('.env.example', encoding='utf-8').read(); \
	fill = lambda m: m[1] + secrets.token_hex(32); \
	text = re.sub(r'(?m)^((?:GATEWAY_SECRET_KEY|GATEWAY_APP_CREDENTIAL|GATEWAY_METRICS_TOKEN|CARRIER_[A-Z0-9_]+_SECRET)=)$$', fill, text); \
	webhook = lambda m: m[1] + 'whsec_' + base64.b64encode(secrets.token_bytes(32)).decode(); \
	print(re.sub(r'(?m)^(SERVICE_[A-Z0-9_]+_SECRET=)$$', webhook, text), end='')" > $@
	@echo "wrote .env with fresh secrets"

run: $(BIN)/gateway .env ## Set up and serve on 127.0.0.1:8000 (SQLite), with the background worker
	$(BIN)/gateway init-db
	$(BIN)/gateway serve --with-worker

test: $(BIN)/gateway ## Run the whole test suite (on SQLite)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Its own data directory and a free port (unless PGDATA/PGPORT are set), so two checkouts on
# one machine never stop each other's database; the same pair is passed to --stop.
test-postgres: $(BIN)/gateway ## Run it again on a throw-away PostgreSQL (installs it with apt if missing)
	@export PGPORT=$${PGPORT:-$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}; \
	own=; if [ -z "$${PGDATA:-}" ]; then export PGDATA=$$(mktemp -u /tmp/gateway-pg.XXXXXX); own=1; fi; \
	url=$$(bash .ci/setup-postgres.sh) && echo "TEST_DATABASE_URL=$$url" && \
	TEST_DATABASE_URL=$$url $(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	bash .ci/setup-postgres.sh --stop >/dev/null; \
	if [ -n "$$own" ]; then rm -rf "$$PGDATA"; fi; exit $$status

lint: $(BIN)/gateway ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/gateway ## mypy on the pure packages (parsers, billing)
	$(BIN)/mypy

fuzz: $(BIN)/gateway ## Attack every route with many hostile requests (FUZZ_EXAMPLES, default 20000)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20000} $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz $(PYTEST_ARGS)

bench: $(BIN)/gateway ## Run the benchmarks: figure, baseline and ratio (asserts nothing)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/import_accounts.py
	$(BIN)/python benchmarks/export_charges.py
	$(BIN)/python benchmarks/login.py
	$(BIN)/python benchmarks/message_path.py
	$(BIN)/python benchmarks/webhook_under_login_flood.py
	$(BIN)/python benchmarks/passkey_signin.py

clean: ## Remove the virtualenv and caches (keeps .env and instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info

.PHONY: help install run test test-postgres lint typecheck fuzz bench clean
