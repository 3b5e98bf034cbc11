# make demo: create .venv, install, run the benchmark on embedded SQLite.
# make test: create .venv, install, run the whole suite (both driver sets).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-default test-alt lint clean

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[psycopg,psycopg2,mysqlclient,pymysql,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m django_pool bench

test: $(STAMP) lint test-default test-alt

test-default: $(STAMP)
	$(BIN)/python -m pytest

# psycopg2 and PyMySQL: Django picks its driver once per process.
test-alt: $(STAMP)
	DJANGO_POOL_TEST_DRIVERS=alt $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check django_pool tests
	$(BIN)/ruff format --check django_pool tests

clean:
	rm -rf $(VENV) build dist *.egg-info
