# The README's two promises: `make run` (app on SQLite with demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test test-unit test-evening test-dates install install-test browser libreoffice faketime check lint bench clean-data pg-client nginx cluster cluster-stop

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Browser tests drive Debian's Chromium (never a browser downloaded by Playwright); the CJK font makes
# the Chinese UI legible in the screenshots kept as test artefacts.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "CJK"; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's chromium and a CJK font for the browser tests…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else \
			echo "WARNING: /usr/bin/chromium missing and cannot be installed here; browser tests will be skipped."; \
		fi; \
	fi

# The import tests have LibreOffice itself save department workbooks (.xlsx, .xls, .csv), as offices do:
# Debian's headless Calc, no GUI libraries.
libreoffice:
	@if ! command -v soffice >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's headless LibreOffice Calc for the import tests…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; \
		else \
			echo "WARNING: soffice missing and cannot be installed here; LibreOffice import tests will be skipped."; \
		fi; \
	fi

# manage.py backup/restore on PostgreSQL run pg_dump/pg_restore of the server's own major version
# (services/backup.py looks in /usr/lib/postgresql/<major>/bin, then PATH). PG_MAJOR picks Debian's
# postgresql-client-<major>; without it, Debian's default client.
PG_MAJOR ?=
pg-client:
	@if [ ! -x /usr/lib/postgresql/$(or $(PG_MAJOR),none)/bin/pg_dump ] && { [ -n "$(PG_MAJOR)" ] || ! command -v pg_dump >/dev/null; }; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's postgresql-client$(if $(PG_MAJOR),-$(PG_MAJOR)) for backups…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client$(if $(PG_MAJOR),-$(PG_MAJOR)) >/dev/null; \
		else \
			echo "WARNING: pg_dump missing and cannot be installed here (run make pg-client as root)."; \
		fi; \
	fi

# Several single-process servers behind Debian's nginx (deploy/cluster.py renders deploy/nginx.conf.template
# into data/cluster and runs nginx unprivileged from there). Needs DATABASE_URL (PostgreSQL).
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's nginx for make cluster…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
		else \
			echo "WARNING: nginx missing and cannot be installed here (run make nginx as root); cluster tests will be skipped."; \
		fi; \
	fi

REPLICAS ?= 2
CLUSTER_PORT ?= 8080
cluster: install nginx
	@test -n "$$DATABASE_URL" || echo "注意：未设置 DATABASE_URL，使用 SQLite 文件（仅供试用；正式部署用 PostgreSQL）"
	$(PY) manage.py init-db
	$(PY) manage.py serve --replicas $(REPLICAS) --port $(CLUSTER_PORT)

cluster-stop:
	$(PY) manage.py serve --stop

run: install
	$(PY) manage.py init-db
	$(PY) manage.py seed-demo --if-empty --local-demo
	@echo ""
	@echo "  企业创新积分 running at http://localhost:$(PORT)"
	@echo "  Demo accounts (password Demo@2025): admin · officer1 · officer2 · bank1 · ent1 … ent5"
	@echo ""
	@# the first run of a fresh server is paid here, not by the first visitor (deploy.cluster.warm_up)
	$(PY) -c 'from deploy.cluster import warm_up_after_start; warm_up_after_start($(PORT))' &
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT) --server.headless true

test: install-test browser libreoffice
	$(PY) -m pytest -n 2 --dist loadgroup

# The quick loop while editing: tests/unit without the tests marked slow (Hypothesis properties, LibreOffice),
# under a minute on an idle 2-core machine. make test still runs everything.
test-unit: install-test
	$(PY) -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider -m "not slow" tests/unit

# Debian's faketime sets the clock of a whole process tree (the Streamlit server of the browser tests too).
faketime:
	@command -v faketime >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }

# The whole suite with every process's clock at 23:40 UTC (07:40 the next day in Beijing), the hours
# in which a server's own date lags Beijing's.
test-evening: install-test browser libreoffice faketime
	faketime -f '@2026-12-01 23:40:00' $(PY) -m pytest -n 2 --dist loadgroup

# The clock-sensitive tests at the instants that change the year or pass a leap day in Beijing while
# UTC lags, and at a date years from now: clock and Beijing days, review, objections, runs, the evening
# and year-change AppTests, the assistant's 公示 dates and days left, and the enterprise's browser journey.
DATE_INSTANTS := '2026-12-31 16:30:00' '2028-02-29 23:40:00' '2031-06-15 03:00:00'
DATE_TESTS := tests/unit/test_clock.py tests/integration/test_beijing_days.py tests/integration/test_review.py \
	tests/integration/test_objections.py tests/integration/test_runs.py tests/app/test_evening_clock.py \
	tests/app/test_year_change.py tests/integration/test_assistant_run_facts.py \
	tests/e2e/test_enterprise_flow.py::test_enterprise_flow
test-dates: install-test browser faketime
	@for at in $(DATE_INSTANTS); do \
		echo "== every process's clock from $$at UTC"; \
		faketime -f "@$$at" $(PY) -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider $(DATE_TESTS) || exit 1; \
	done

# The habits that check themselves: ruff, mypy on core/ (its type hints hold), the layering scan (dependencies
# point downwards, core/ pure) and the docs scans (every environment variable in the README; every table,
# top-level package and core module in docs/architecture.md).
# CI runs it before the tests through `make lint`.
CHECK_TESTS := tests/unit/test_layering.py tests/unit/test_docs.py
check: install-test
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy core
	$(PY) -m pytest -q -p no:cacheprovider $(CHECK_TESTS)

lint: check

bench: install-test
	$(PY) benchmarks/bench_scoring.py
	$(PY) benchmarks/bench_run.py
	$(PY) benchmarks/bench_import.py

clean-data:
	rm -rf data/
