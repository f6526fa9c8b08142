# The desk's front door. `make run` needs only Python 3.11+ and make; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# What the desk needs to run; the development tools (pytest, Playwright, schemathesis, ruff ...) only
# for `make test` and friends, so a fresh clone's `make run` installs what it serves with.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench messages clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(DEV_STAMP)

# Embedded default: SQLite, Celery worker + beat on a filesystem broker (no Redis), demo data.
run: $(STAMP)
	@PORT=$(PORT) PY=$(PY) bash scripts/run-embedded.sh

# Every test. Against PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI sets them).
test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The big-promo bench: 1,000,000 tickets in PostgreSQL (built once, ~10 min; reused), every page, API,
# search, report, sweep, intake and import figure through gunicorn. Needs PostgreSQL and Redis.
# e.g. make bench BENCH_ARGS="--tickets 100000 --only queue_page,search"
# The server of DATABASE_URL when it is a PostgreSQL one (the dataset gets its own database there).
BENCH_DATABASE_URL ?= $(if $(filter postgres%,$(DATABASE_URL)),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres)
BENCH_ARGS ?=
bench: $(DEV_STAMP)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/suite.py $(BENCH_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Recompile translations after editing locale/*/LC_MESSAGES/django.po (needs gettext).
messages: $(DEV_STAMP)
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
