"""Django's ORM under ``gevent.monkey.patch_all()``: psycopg 3, psycopg2 + psycogreen, PyMySQL.

Each scenario runs in its own process (tests/deployment/gevent_probe.py),
since patching is process-wide, watched from here through the server's own
sessions on the test database.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .processes import ROOT, SessionWatch, project_env, witness

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__")]

# The drivers that cooperate with gevent, and their server.
GREEN = {"psycopg": "postgresql", "psycopg2": "postgresql", "pymysql": "mysql"}


@pytest.fixture(params=list(GREEN))
def green(request):
    """Return ``(driver, server witness)`` for each cooperative driver."""
    with witness(GREEN[request.param]) as server:
        yield request.param, server


@pytest.fixture
def mysql():
    """Return the server witness of MariaDB."""
    with witness("mysql") as server:
        yield server


def probe(server, driver: str, scenario: str, **pool) -> dict:
    env = project_env(server.alias, driver, **pool)
    result = subprocess.run(
        [sys.executable, "-m", "tests.deployment.gevent_probe", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # nothing hangs
    )
    if result.returncode:
        pytest.fail(f"{driver} {scenario}: the probe failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["stderr"] = result.stderr
    return report


def test_bound_holds_and_greenlets_run_concurrently(green):
    green, server = green
    with SessionWatch(server) as watch:
        report = probe(server, green, "load", pool_size=3, max_overflow=1, timeout=30)
    assert report["errors"] == []
    assert report["finished"] == report["greenlets"]
    assert report["items"] == report["greenlets"] * 5
    assert watch.peak <= 4, f"server saw {watch.peak} sessions at once"
    assert report["stats"]["in_use"] == 0
    # The driver yields to the hub while the server works, so greenlets
    # overlap their 20 ms holds: the pool had to open all it may. (A blocking
    # driver never lets another greenlet run while one holds its connection.)
    assert len(report["sessions"]) == 4, report


def test_mysqlclient_blocks_the_hub(mysql):
    # What docs/deployment.md says: mysqlclient is a C driver that waits on its
    # socket without yielding, so greenlets' queries run one after the other.
    report = probe(mysql, "mysqlclient", "load", pool_size=3, max_overflow=1, timeout=30)
    assert report["errors"] == []
    # No greenlet ever ran while another held a connection: one was enough,
    # and 200 holds of 20 ms took at least their sum.
    assert len(report["sessions"]) == 1, report
    assert report["elapsed"] >= report["serial"], report


def test_a_killed_greenlet_frees_its_connection(green):
    green, server = green
    report = probe(server, green, "kill", pool_size=1, max_overflow=0, timeout=5)
    assert report["holder_dead"]
    assert report["served"], report["error"]
    assert report["waited"] < 2, "the waiter waited for the pool timeout"
    assert report["reasons"].get("thread ended") == 1
    assert any("'holder' ended without returning its connection" in m for m in report["log"])


def test_leak_reports_name_the_greenlet(green):
    green, server = green
    report = probe(
        server, green, "leak", pool_size=1, max_overflow=0, timeout=0.4, leak_threshold=0.2
    )
    assert "Held by: thread 'slow-holder'" in report["timeout"], report["timeout"]
    assert report["leaks"] == 1
    assert any("returned after" in m and "'slow-holder'" in m for m in report["log"]), report["log"]


def test_an_exit_with_greenlets_left_prints_nothing(green):
    # A worker's exit printed "Exception ignored in: <function _gc_phase>
    # ... RuntimeError: greenlet is being finalized" six times (gunicorn -k
    # gevent --max-requests, release="transaction").
    green, server = green
    report = probe(server, green, "finalize", pool_size=1, release="transaction")
    assert report["callback_installed"]
    assert "Exception ignored" not in report["stderr"], report["stderr"]
