"""Failover under load: the primary stops, the standby is promoted, libpq multi-host finds it.

Settings as a user writes them: ``HOST`` "h1,h2", ``PORT`` "p1,p2",
``OPTIONS["target_session_attrs"] = "read-write"``. 8 threads send one-write
requests; the primary is stopped (fast shutdown) and the standby promoted.

The promise (issue 13): a failover that completes within the pool's
``timeout`` costs latency, not errors. Only requests whose statement was in
flight when the primary went down fail, at most one per thread; requests that
ask for a connection while no primary exists wait for the promotion; nothing
fails after it; no connection to the old primary is used again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from django.db import DatabaseError, OperationalError, connections

import django_pool

from .cluster import PASSWORD, PASSWORD_USER
from .conftest import DATABASE

pytestmark = pytest.mark.deployment_pg

ALIAS = "failover"
THREADS = 8
TIMEOUT = 5.0  # the pool's timeout: the promotion must complete within it
NO_PRIMARY_FOR = 2.0  # seconds from the end of the stop to the promotion


@dataclass
class Outcome:
    """One request: which thread, when it ran, and what came of it."""

    thread: int
    started: float
    ended: float
    port: int | None  # the server port that answered (inet_server_port())
    error: str | None


class Load:
    """THREADS threads each sending one-write requests until stopped."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(i,), name=f"load-{i}") for i in range(THREADS)
        ]

    def run(self, i: int) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            port, error = None, None
            try:
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO hits (thread) VALUES (%s) RETURNING inet_server_port()", [i]
                    )
                    port = cursor.fetchone()[0]
            except DatabaseError as err:
                error = f"{type(err).__name__}: {err}"
            finally:
                connections[ALIAS].close()  # the end of the request
            with self.lock:
                self.outcomes.append(Outcome(i, started, time.monotonic(), port, error))

    def successes_after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.error is None and o.started > moment)

    def wait_for(self, condition, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def multi_host(cluster, **extra) -> dict:
    """Return the alias's settings: both servers, read-write wanted."""
    return {
        "ENGINE": "django_pool.backends.postgresql",
        "NAME": DATABASE,
        "USER": "postgres",
        "HOST": "127.0.0.1,127.0.0.1",
        "PORT": f"{cluster.primary.port},{cluster.standby.port}",
        "OPTIONS": {
            "target_session_attrs": "read-write",
            "application_name": "django_pool_failover",
            "connect_timeout": 2,
        },
        "POOL": {"pool_size": 4, "max_overflow": 4, "timeout": TIMEOUT},
        **extra,
    }


def test_failover_costs_latency_not_errors(cluster, add_alias):
    cluster.primary.query(
        "CREATE TABLE hits (id bigserial PRIMARY KEY, thread int)", dbname=DATABASE
    )
    add_alias(ALIAS, multi_host(cluster))
    old, new = cluster.primary.port, cluster.standby.port

    with Load() as load:
        begin = time.monotonic()
        # As issue 13 measured it: the stop at 3 s, the load for 10 s.
        load.wait_for(
            lambda: time.monotonic() - begin >= 3 and load.successes_after(begin) >= 200,
            "3 s of traffic on the primary",
        )
        stopping = time.monotonic()
        cluster.primary.stop()
        stopped = time.monotonic()
        # The outage being measured, not a wait for anything: a cluster manager
        # takes a while to notice and promote, and requests keep coming meanwhile.
        time.sleep(NO_PRIMARY_FOR)
        cluster.standby.promote()
        promoted = time.monotonic()
        load.wait_for(
            lambda: time.monotonic() - begin >= 10 and load.successes_after(promoted) >= 200,
            "traffic on the new primary",
        )

    outcomes = load.outcomes
    failed = [o for o in outcomes if o.error is not None]
    # By kind: a statement cut by the shutdown, or a checkout that found no primary.
    no_primary = [o for o in failed if "cannot open a connection" in o.error]
    in_flight = [o for o in failed if o not in no_primary and o.started < stopped]
    # The facts, printed for docs/reliability.md (pytest -s).
    served_after = [o for o in outcomes if o.error is None and o.started >= stopped]
    recovered = min(o.ended for o in served_after)
    # Served although in progress while no primary existed: they waited for it.
    waited = [o for o in outcomes if o.error is None and o.started < promoted and o.ended > stopped]
    stats = django_pool.get_stats(ALIAS)[ALIAS]
    print(
        f"\nfailover ({connections[ALIAS].Database.__name__}): {len(outcomes)} requests in "
        f"{outcomes[-1].ended - begin:.1f} s; stop at {stopping - begin:.2f} s took "
        f"{stopped - stopping:.2f} s, promotion {promoted - stopped:.2f} s; {len(failed)} failed "
        f"({len(in_flight)} in flight at the stop, {len(no_primary)} found no primary, "
        f"{len(failed) - len(in_flight) - len(no_primary)} other); "
        f"{len(waited)} requests waited for the promotion, longest "
        f"{max((o.ended - o.started for o in waited), default=0):.2f} s; first success "
        f"{recovered - stopped:.2f} s after the stop ended ({recovered - promoted:+.2f} s "
        f"from the promotion); connect attempts that failed {stats.get('connections_errors', 0)}; "
        f"failures: {sorted({o.error.splitlines()[0][:80] for o in failed})}"
    )

    # Only requests whose statement was in flight when the primary went down failed,
    # at most one per thread.
    assert not no_primary, no_primary[0].error
    assert failed == in_flight, [o.error for o in failed if o not in in_flight]
    per_thread = [sum(1 for o in failed if o.thread == i) for i in range(THREADS)]
    assert max(per_thread) <= 1, per_thread
    # Requests that asked for a connection while no primary existed waited for it.
    assert stats.get("connections_errors", 0) > 0, "no request ever found the primary gone"
    assert stats.get("timeouts_num", 0) == 0
    # Before the stop every answer came from the old primary; once it was down,
    # every one from the new primary: no request reached the old one.
    assert {o.port for o in outcomes if o.error is None and o.ended < stopping} == {old}
    assert {o.port for o in outcomes if o.error is None and o.started >= stopped} == {new}
    # Every pooled connection is now to the new primary: the server's own count
    # of our sessions is what the pool has open.
    sessions = cluster.standby.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'django_pool_failover'"
    )[0][0]
    assert sessions == django_pool.get_stats(ALIAS)[ALIAS]["open"] <= 8


@pytest.mark.parametrize(
    "mistake", ["wrong password", "unknown database", "unknown role", "no password"]
)
def test_connect_errors_waiting_cannot_fix_fail_at_once(shared_cluster, add_alias, mistake):
    settings = multi_host(shared_cluster, USER=PASSWORD_USER, PASSWORD=PASSWORD)
    settings["POOL"] = {"timeout": 20}
    if mistake == "wrong password":
        settings["PASSWORD"] = "wrong-pw-never-logged"
    elif mistake == "unknown database":
        settings["NAME"] = "no_such_database"
    elif mistake == "unknown role":
        settings["USER"] = "no_such_role"
    else:
        settings["PASSWORD"] = ""
    alias = add_alias(f"mistaken_{mistake.replace(' ', '_')}", settings)
    started = time.monotonic()
    with pytest.raises(OperationalError) as info:
        connections[alias].ensure_connection()
    assert time.monotonic() - started < 2, "waited although waiting cannot help"
    message = str(info.value)
    assert f"database {alias!r}: cannot open a connection" in message
    assert "gave up after" not in message
    assert "pw-never-logged" not in message
    assert django_pool.get_stats(alias)[alias]["connections_errors"] == 1


def test_the_right_password_connects(shared_cluster, add_alias):
    # The control for the test above: the role and its password do work.
    alias = add_alias(
        "password_ok", multi_host(shared_cluster, USER=PASSWORD_USER, PASSWORD=PASSWORD)
    )
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == PASSWORD_USER


def test_a_server_turned_read_only_replaces_the_connections_opened_before(
    shared_cluster, add_alias
):
    # SQLSTATE 25006 on a write: the server is (now) read-only, so every
    # connection opened before is on a server that cannot serve writes.
    primary = shared_cluster.primary
    primary.query("CREATE TABLE notes (id serial PRIMARY KEY)", dbname=DATABASE)
    settings = multi_host(shared_cluster, HOST="127.0.0.1", PORT=str(primary.port))
    settings["POOL"] = {"pool_size": 3, "max_overflow": 0, "timeout": 5}
    alias = add_alias("turned_read_only", settings)
    before = hold_three(alias)
    assert len(before) == 3

    primary.query("ALTER SYSTEM SET default_transaction_read_only = on")
    primary.query("SELECT pg_reload_conf()")
    # Each backend applies the reload before its next command: wait for it.
    deadline = time.monotonic() + 10
    while True:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("INSERT INTO notes DEFAULT VALUES")
        except DatabaseError as err:
            cause = err.__cause__
            assert (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) == "25006"
            break
        finally:
            connections[alias].close()
        assert time.monotonic() < deadline, "the server never turned read-only"
        time.sleep(0.02)
    primary.query("ALTER SYSTEM RESET default_transaction_read_only")
    primary.query("SELECT pg_reload_conf()")

    after = hold_three(alias)
    assert not after & before, "a connection opened before the read-only error was reused"
    stats = django_pool.get_stats(alias)[alias]
    assert stats["disconnects_num"] == 1


def hold_three(alias: str) -> set[int]:
    """Have 3 threads hold a connection each at once; return their backend pids."""
    together = threading.Barrier(3, timeout=30)
    pids: list[int] = []

    def hold() -> None:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            together.wait()
        finally:
            connections[alias].close()

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return set(pids)
