# The two commands of the README:
#   make run    install everything, initialise, load the demo county when empty, serve
#   make test   install what tests need (Chromium included) and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test install install-test translations compile-translations lint clean migration

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

$(TSTAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(STAMP) compile-translations
	@scripts/system-packages.sh

install-test: $(TSTAMP) compile-translations
	@scripts/system-packages.sh test

compile-translations: | $(STAMP)
	@$(BIN)/pybabel -q compile -d reliefsvc/translations

# The demo on one machine: its logins work without a phone. A production installation
# (RELIEFSVC_ENV=production, its own instance/config.py) requires the second factor.
run: install
	@test -f instance/config.py || printf '%s\n' '# Written by `make run`: a demo on one machine. See instance/config.example.py.' \
	  'TOTP_REQUIRED_ROLES = []  # production requires a second factor for admin, officer, inspector (docs/identity.md)' \
	  > instance/config.py
	$(BIN)/reliefsvc init
	$(BIN)/reliefsvc demo load --if-empty
	$(BIN)/reliefsvc demo logins
	$(BIN)/reliefsvc serve --host 127.0.0.1 --port $(PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Extract the messages of the code and templates and merge them into the catalogs.
translations: | $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project reliefsvc -o reliefsvc/translations/messages.pot .
	$(BIN)/pybabel -q update -i reliefsvc/translations/messages.pot -d reliefsvc/translations --no-fuzzy-matching

lint: | $(TSTAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# A new migration from the models: make migration m="what changed"
migration: | $(STAMP)
	RELIEFSVC_INSTANCE_PATH=$$(mktemp -d) sh -c '$(BIN)/reliefsvc init >/dev/null && $(BIN)/reliefsvc db migrate -m "$(m)"'
