"""``python -m django_pool bench`` runs as a user runs it, and its facts hold.

Facts, not speeds: round trips counted at the socket, the connection bound
seen by the server, every thread served. Timings belong to the benchmark.
"""

import json
import os
import subprocess
import sys

import pytest
from django.db import connections

from tests.conftest import _require

QUICK = [
    "--rounds",
    "1",
    "--seconds",
    "0.01",
    "--threads",
    "6",
    "--pool-size",
    "2",
    "--thread-seconds",
    "0.2",
]


def bench(*args):
    result = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", *QUICK, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert result.returncode == 0, result.stderr
    return result


def url(alias):
    s = connections.settings[alias]
    scheme = "postgres" if "postgresql" in s["ENGINE"] else "mysql"
    return f"{scheme}://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/test"


def test_default_run_on_sqlite_prints_the_tables(tmp_path):
    chart = tmp_path / "bench.png"
    result = bench("--plot", str(chart))
    out = result.stdout
    assert "django-pool bench on SQLite file" in out
    for label in (
        "Django, no pooling (CONN_MAX_AGE=0)",
        "Django persistent (CONN_MAX_AGE=None)",
        "django-pool",
        "connection only",
        "one query",
        "atomic, 3 queries",
        "6 threads, one query per request, pools of 2",
    ):
        assert label in out
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "release per transaction" not in out  # SQLite refuses it


@pytest.mark.parametrize("alias", ["postgresql", "mysql"])
def test_server_run_facts(alias):
    _require(alias)
    data = json.loads(bench("--database-url", url(alias), "--json").stdout)
    trips = data["round_trips"]
    # Connection handling alone costs django-pool nothing, like persistent connections.
    assert trips["django_pool"]["connect"] == 0 == trips["persistent"]["connect"]
    assert trips["django_pool"]["query"] == 1
    assert trips["no_pool"]["connect_connections"] == 1  # one new connection per request
    # Released after each query, checked out again for the next: still no round trip.
    assert trips["django_pool_transaction"]["query"] == 1
    assert trips["django_pool_transaction"]["connect"] == 0
    threads = data["threads"]
    for variant in ("django_pool", "django_pool_transaction"):
        assert threads[variant]["server_connections"] <= 2
        assert threads[variant]["idle_threads"] == 0
    # The password given in the URL is never printed.
    assert (
        connections.settings[alias]["PASSWORD"] not in json.dumps(data)
        or not (connections.settings[alias]["PASSWORD"])
    )


def test_external_wait_workload(server_vendor):
    data = json.loads(
        bench("--database-url", url(server_vendor), "--json", "--external-ms", "5").stdout
    )
    assert data["threads_config"]["external_ms"] == 5
    for variant in ("django_pool", "django_pool_transaction"):
        assert data["threads"][variant]["server_connections"] <= 2
        assert data["threads"][variant]["idle_threads"] == 0
