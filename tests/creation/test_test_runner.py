"""Django's test runner with pooled ENGINEs: create, clone (--parallel) and destroy.

Runs ``django-admin test`` on a small project in a subprocess, the way a
user does, then asks the server whether any test database is left behind
(a failed DROP DATABASE would leave one and print "being accessed by other
users").
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Server

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = f"_{os.getpid()}"  # this run's databases only


def run_project(vendor, *args, label="tests.creation.project.sample", pool=None, env=None):
    env = {
        **os.environ,
        **(env or {}),
        "DJANGO_POOL_PROJECT_VENDOR": vendor,
        "DJANGO_POOL_PROJECT_SUFFIX": SUFFIX,
        "DJANGO_SETTINGS_MODULE": "tests.creation.project.settings",
        "PYTHONPATH": str(ROOT),
    }
    if pool is not None:
        env["DJANGO_POOL_PROJECT_POOL"] = json.dumps(pool)
    return subprocess.run(
        [sys.executable, "-m", "django", "test", label, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("parallel", ["1", "2"])
@pytest.mark.django_db(databases="__all__")
def test_manage_py_test(server, parallel):
    vendor = server.vendor
    result = run_project(vendor, "--parallel", parallel, "--noinput", "-v", "2")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 6 tests" in output and "OK" in output
    assert "being accessed by other users" not in output
    if parallel == "2":
        assert "Cloning test database" in output
    assert not _test_databases_left(server), output


def test_manage_py_test_sqlite(tmp_path):
    result = run_project("sqlite", "--parallel", "2", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(databases="__all__")
def test_a_live_server_test_on_a_pool_of_one(server):
    # Django connects once more after creating a test database ("for the side
    # effect"); that checkout stayed with the test thread, and on a pool of 1
    # the live server's thread waited out the timeout (a 500). It goes back
    # now, and release="transaction" gives the test thread's back per query.
    pool = {"pool_size": 1, "max_overflow": 0, "timeout": 5, "release": "transaction"}
    result = run_project(server.vendor, "--noinput", label="tests.creation.project.live", pool=pool)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 1 test" in output and "OK" in output
    assert not _test_databases_left(server), output


@pytest.mark.django_db(databases="__all__")
def test_each_transaction_test_case_test_starts_with_a_clean_session(server):
    # Django closes every connection after each TransactionTestCase test "to
    # get a clean connection"; the pool gave the next test the same session,
    # SET statement_timeout (PostgreSQL) or @variables (MySQL) included.
    result = run_project(server.vendor, "--noinput", label="tests.creation.project.session")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 2 tests" in output and "OK" in output


@pytest.mark.parametrize("which", ["after", "first"])
@pytest.mark.django_db(databases="__all__")
def test_an_opted_out_alias_on_the_same_database_is_one_test_database(server, which):
    # Django counts test databases by (HOST, PORT, ENGINE, test name): the
    # pooled ENGINE made an alias with "POOL": False on the same database a
    # second one, created over the first (MariaDB) or refused as in use.
    # Listed first, Django's ENGINE creates and drops it: the pool's idle
    # connection made the DROP fail.
    result = run_project(
        server.vendor,
        "--noinput",
        label="tests.creation.project.direct",
        env={"DJANGO_POOL_PROJECT_DIRECT": which},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 1 test" in output and "OK" in output
    assert "being accessed by other users" not in output
    assert not _test_databases_left(server), output


def _test_databases_left(server: Server) -> list[str]:
    if server.vendor == "postgresql":
        rows = server._rows(
            f"SELECT datname FROM pg_database WHERE datname LIKE 'test_dp_project{SUFFIX}%%'"
        )
    else:
        rows = server._rows(f"SHOW DATABASES LIKE 'test_dp_project{SUFFIX}%%'")
    return [row[0] for row in rows]
