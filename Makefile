# Two commands matter: `make run` (try the example interview) and `make test` (what CI runs).
# Everything installs into .venv from the hash-pinned requirements.lock, so a fresh clone
# gets exactly the versions CI tested; the stamp file makes reruns instant.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test test-postgres lint typecheck unit run run-terminal bench messages web-messages lock clean

setup: $(STAMP)

# Debian ships venv/ensurepip separately (python3-venv); install it when we can, else say so.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "python3 -m venv failed; installing python3-venv"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv && \
	    $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "error: '$(PYTHON) -m venv' failed; install python3-venv (Debian/Ubuntu) and retry" >&2; exit 1; \
	  fi; }

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

# Every test that touches a database again, each on a fresh PostgreSQL database of the server at
# ACCORD_TEST_POSTGRES_URL (.ci/run starts one on 127.0.0.1:55432).
test-postgres: $(STAMP)
	@test -n "$$ACCORD_TEST_POSTGRES_URL" || { echo "set ACCORD_TEST_POSTGRES_URL=postgresql://user@host:port/db" >&2; exit 1; }
	ACCORD_TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/store tests/signing tests/web tests/live tests/corpus tests/integrations

# The demo: the web wizard on 127.0.0.1:8000 (SQLite in ./data, demo firm seeded), printing the
# applicant link. `make run-terminal` runs the same interview in the terminal instead.
run: $(STAMP)
	$(BIN)/accord serve --host 127.0.0.1 --port 8000

run-terminal: $(STAMP)
	$(BIN)/accord run interviews/loan_application.yml

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/assembly.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/signing.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/delivery.py

# The runner's own strings: re-extract the template from the code, then merge it into every
# catalog (accord/locale/<lang>/LC_MESSAGES/accord.po); translate what comes out empty or fuzzy.
messages: $(STAMP)
	$(BIN)/pybabel extract --project=Accord --version=$$($(BIN)/python -c 'import accord; print(accord.__version__)') \
	  --copyright-holder="Accord project" -c "Translators:" --sort-by-file \
	  -o accord/locale/accord.pot accord/
	$(BIN)/pybabel update -i accord/locale/accord.pot -d accord/locale -D accord

# The web pages' own strings (web/*.py, web/templates/*.html) into web/locale/web.pot and every catalog.
web-messages: $(STAMP)
	$(BIN)/pybabel extract -F web/babel.cfg -k _t --project=Accord --copyright-holder="Accord project" \
	  -c "Translators:" --sort-by-file -o web/locale/web.pot web/
	$(BIN)/pybabel update -i web/locale/web.pot -d web/locale -D web

# Hashes pin every artifact; no index/host/find-links lines so the lock works on any mirror.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --extra dev --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
	  -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis *.egg-info
