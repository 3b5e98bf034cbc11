# make demo: create .venv, install only what the demo needs (no compiler, no root), run the
#            benchmark on a throwaway embedded PostgreSQL (SQLite if it cannot start).
# make test: create .venv, install, lint, build the docs site, run the whole suite (both driver
#            sets) and Django's own suite through the pooled ENGINEs; every part runs, the
#            failures are listed at the end.
# make docs: the MkDocs site (docs/ and README.md, API reference from the docstrings) into site/;
# --strict: a broken link, a bad anchor or an undocumented public name fails it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Django's own suite, stock ENGINE vs django-pool ENGINE (docs/conformance.md).
CONFORMANCE_APPS ?= backends servers basic transactions transaction_hooks select_for_update multiple_database

# GeoDjango's suite (gis_tests), GeoDjango's ENGINE vs django-pool's twin, on each GIS database.
GIS_CONFORMANCE_VENDORS ?= postgis spatialite mysqlgis

.PHONY: demo test test-slow test-default test-alt test-deploy test-deploy-pg lint docs conformance conformance-gis conformance-full clean

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-binary pysqlite3 -e ".[psycopg,psycopg2,mysqlclient,pymysql,test,lint,docs]"
	touch $(STAMP)

DEMO_STAMP := $(VENV)/.demo-installed
# Short rounds: the whole demo, install included, stays about a minute.
DEMO_ARGS ?= --rounds 3 --seconds 0.05 --thread-seconds 0.4 --workloads connect,query

$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[demo]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m django_pool bench $(DEMO_ARGS)

# Every part runs even when one fails; the failures are listed at the end.
TEST_PARTS ?= lint docs test-default test-alt conformance

test: $(STAMP)
	@failed=""; \
	for part in $(TEST_PARTS); do \
		echo "=== make $$part"; \
		$(MAKE) --no-print-directory $$part || failed="$$failed $$part"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all passed ($(TEST_PARTS))"

test-default: $(STAMP)
	$(BIN)/python -m pytest

# Real gunicorn, uvicorn, gevent and Celery workers in front of the pool
# (docs/deployment.md); out of `make test` for their run time. .ci/run runs both.
test-deploy: $(STAMP)
	$(BIN)/python -m pytest -m deployment tests/deployment

# psycopg2 and PyMySQL: Django picks its driver once per process.
test-alt: $(STAMP)
	DJANGO_POOL_TEST_DRIVERS=alt $(BIN)/python -m pytest

# Failover, read replicas and PgBouncer (tests/deployment_pg): real servers started by the
# tests, both driver sets, about 3 minutes; out of `make test`, in .ci/run.
test-deploy-pg: $(STAMP)
	bash scripts/deploy-pg-deps.sh
	$(BIN)/python -m pytest -m deployment_pg tests/deployment_pg
	DJANGO_POOL_TEST_DRIVERS=alt $(BIN)/python -m pytest -m deployment_pg tests/deployment_pg

conformance: $(STAMP)
	status=0; \
	for vendor in sqlite postgresql mysql; do \
		$(BIN)/python scripts/django_suite.py --vendor $$vendor $(CONFORMANCE_APPS) || status=1; \
	done; \
	$(BIN)/python scripts/django_suite.py --vendor postgis gis_tests.geoapp || status=1; \
	exit $$status

# All of gis_tests, several minutes per database: not part of make test (which runs
# gis_tests.geoapp on PostGIS); .ci/run runs it after.
conformance-gis: $(STAMP)
	status=0; \
	for vendor in $(GIS_CONFORMANCE_VENDORS); do \
		$(BIN)/python scripts/django_suite.py --vendor $$vendor gis_tests || status=1; \
	done; \
	exit $$status

# The 15 apps of docs/conformance.md, every vendor and driver, --parallel 1 and 2, on the
# installed versions; results in conformance-results/ (scripts/conformance_report.py).
conformance-full: $(STAMP)
	mkdir -p conformance-results
	status=0; \
	for args in "sqlite sqlite3" "postgresql psycopg" "postgresql psycopg2" "mysql mysqlclient"; do \
		set -- $$args; \
		for parallel in 1 2; do \
			$(BIN)/python scripts/django_suite.py --vendor $$1 --driver $$2 --parallel $$parallel \
				--json conformance-results/local-$$1-$$2-p$$parallel.json || status=1; \
		done; \
	done; \
	exit $$status

# Minutes of valgrind: bench --instructions end to end (.ci/run runs it after make test).
test-slow: $(STAMP)
	DJANGO_POOL_SLOW_TESTS=1 $(BIN)/python -m pytest tests/bench/test_instructions.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check django_pool tests
	$(BIN)/ruff format --check django_pool tests
	$(BIN)/mypy
	$(BIN)/python scripts/check_wheel.py

clean:
	rm -rf $(VENV) build dist *.egg-info
