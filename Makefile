# Two commands on a fresh machine: `make demo` and `make test`. Nothing else needs to be running.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp
DEMO_PORT ?= 8000
STUB_PORT ?= 8765
STUB_ROOT := .data/github-stub
SIZE ?= S
# Every target here is for a developer's machine: debug on, with its development secret key.
# Production runs gunicorn with DJANGO_SECRET_KEY set and debug off (the default; see the README).
export DJANGO_DEBUG ?= true

.PHONY: install test demo check clean bench

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

test: $(INSTALLED)
	$(BIN)/python -m pytest

# Django's checks, migrations in step with the models, the import layers, lint and types.
check: $(INSTALLED)
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy

# Seeds demo data, prints a login, replays recorded Copilot reports through a
# loopback GitHub stand-in, then serves the app on http://127.0.0.1:$(DEMO_PORT).
demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --reports-dir $(STUB_ROOT)
	@$(BIN)/python manage.py serve_github_stub --root $(STUB_ROOT) --port $(STUB_PORT) & \
	  stub=$$!; trap "kill $$stub 2>/dev/null" EXIT INT TERM; \
	  sleep 1; \
	  GITHUB_API_URL=http://127.0.0.1:$(STUB_PORT) $(BIN)/python manage.py sync_copilot || true; \
	  $(BIN)/python manage.py demo_login; \
	  GITHUB_API_URL=http://127.0.0.1:$(STUB_PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(DEMO_PORT)

# Benchmarks at scale (bench/): `make bench` runs size S, `make bench SIZE=L` the large one.
# Results go to bench/results/<date>-<size>.json; datasets are reused when present.
bench: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m bench --size $(SIZE)

clean:
	rm -rf $(VENV) .data
