"""django-pool in front of PgBouncer, in session and transaction pool mode.

A PgBouncer of the test's own (trust auth, an auth_file) in front of a
disposable PostgreSQL server; 12 threads send ORM requests through a pooled
alias with ``release`` "request" and "transaction". Witnesses: PgBouncer's
admin console (``SHOW CLIENTS``: django-pool's connections; ``SHOW SERVERS``:
PgBouncer's to PostgreSQL) and PostgreSQL's ``pg_stat_activity``.

The bounds: django-pool opens at most ``pool_size + max_overflow`` client
connections; PgBouncer opens at most ``default_pool_size`` server connections.
In transaction mode many clients share few servers; in session mode each
client holds one server connection, so ``default_pool_size`` must cover
``pool_size + max_overflow`` (times processes).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connections, transaction

import django_pool
from tests.faults.disposable import DisposablePostgres
from tests.testapp.models import Item

from .bouncer import PgBouncer, binary
from .cluster import missing_tools
from .conftest import require

pytestmark = pytest.mark.deployment_pg

ALIAS = "bouncer"
DATABASE = "app"
THREADS = 12
POOL_SIZE, MAX_OVERFLOW = 3, 3  # django-pool: at most 6 client connections
SERVERS = {"transaction": 2, "session": POOL_SIZE + MAX_OVERFLOW}  # default_pool_size


@pytest.fixture(scope="module")
def postgres():
    """A disposable PostgreSQL server with an ``app`` database, for this module."""
    require(missing_tools())
    require(None if binary() else "pgbouncer not installed (scripts/deploy-pg-deps.sh)")
    directory = Path(tempfile.mkdtemp(prefix="django_pool_pg_"))
    server = DisposablePostgres(directory)
    server.start()
    try:
        conn = _connect(server.port, "postgres")
        conn.cursor().execute(f"CREATE DATABASE {DATABASE}")
        conn.close()
        conn = _connect(server.port, DATABASE)
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE hits (id serial PRIMARY KEY, thread int)")
        # tests.testapp's Item, for the ORM part of each request.
        cursor.execute("CREATE TABLE testapp_item (id serial PRIMARY KEY, name varchar(100))")
        conn.close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _connect(port: int, dbname: str):
    from django.db.backends.postgresql.base import Database

    conn = Database.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname)
    conn.autocommit = True
    return conn


def backends(port: int) -> int:
    """Return PostgreSQL's count of client sessions on the test database."""
    conn = _connect(port, "postgres")
    try:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = "
            "'client backend'",
            (DATABASE,),
        )
        return cursor.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(params=["transaction", "session"])
def bouncer(request, postgres):
    """A PgBouncer in *pool_mode* in front of ``postgres``."""
    mode = request.param
    instance = PgBouncer(
        server_port=postgres.port,
        database=DATABASE,
        pool_mode=mode,
        default_pool_size=SERVERS[mode],
    )
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def request_(tag: str, i: int, n: int) -> None:
    """One request: an autocommit write, a transaction, and an iterated queryset."""
    try:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO hits (thread) VALUES (%s)", [i])
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO hits (thread) VALUES (%s) RETURNING id", [i])
            (new,) = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM hits WHERE id = %s", [new])
            # Uncommitted, so visible only on the same server session: a transaction
            # keeps its server connection even in transaction mode.
            assert cursor.fetchone()[0] == 1
        # .iterator() would open a server-side cursor (DECLARE) outside a
        # transaction without DISABLE_SERVER_SIDE_CURSORS: broken in transaction mode.
        Item.objects.using(ALIAS).create(name=f"{tag}-{i}")
        items = Item.objects.using(ALIAS).filter(name=f"{tag}-{i}").iterator(chunk_size=2)
        assert sum(1 for _ in items) == n + 1
    finally:
        connections[ALIAS].close()  # the end of the request


@pytest.mark.parametrize("release", ["request", "transaction"])
def test_requests_work_and_bounds_hold(bouncer, postgres, add_alias, release):
    add_alias(
        ALIAS,
        {
            "ENGINE": "django_pool.backends.postgresql",
            "NAME": DATABASE,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(bouncer.port),
            # Required in transaction mode (Django's docs); harmless in session mode.
            "DISABLE_SERVER_SIDE_CURSORS": True,
            "POOL": {
                "pool_size": POOL_SIZE,
                "max_overflow": MAX_OVERFLOW,
                "timeout": 30,
                "release": release,
                "pgbouncer": bouncer.pool_mode,
            },
        },
    )
    seen = {"clients": 0, "servers": 0, "backends": 0}
    errors: list[BaseException] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen["clients"] = max(seen["clients"], bouncer.count("CLIENTS", DATABASE))
            seen["servers"] = max(seen["servers"], bouncer.count("SERVERS", DATABASE))
            seen["backends"] = max(seen["backends"], backends(postgres.port))
            time.sleep(0.01)

    def work(i: int) -> None:
        try:
            for n in range(20):
                request_(f"{bouncer.pool_mode}-{release}", i, n)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    watcher.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    watcher.join()

    assert not errors, errors[0]
    stats = django_pool.get_stats(ALIAS)[ALIAS]
    assert stats["checkouts_num"] >= THREADS * 20
    assert stats["in_use"] == 0
    # django-pool's bound, as PgBouncer counts its clients.
    assert 0 < seen["clients"] <= POOL_SIZE + MAX_OVERFLOW
    # PgBouncer's bound, as it counts its servers and as PostgreSQL counts sessions.
    assert 0 < seen["servers"] <= SERVERS[bouncer.pool_mode]
    assert 0 < seen["backends"] <= SERVERS[bouncer.pool_mode]
    if bouncer.pool_mode == "transaction":
        # Many clients on fewer servers: what transaction pooling is for.
        assert seen["servers"] < POOL_SIZE + MAX_OVERFLOW
    print(f"\npgbouncer {bouncer.pool_mode}, release {release}: max seen {seen}")


@pytest.fixture
def transaction_bouncer(postgres):
    """A PgBouncer in transaction mode with 2 server connections."""
    instance = PgBouncer(
        server_port=postgres.port, database=DATABASE, pool_mode="transaction", default_pool_size=2
    )
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.mark.parametrize("prepare_threshold", [5, None])
def test_prepared_statements_break_transaction_pooling(
    transaction_bouncer, add_alias, prepare_threshold
):
    # What django_pool.W012 warns of, made to happen: psycopg prepares a
    # statement on one server session; PgBouncer runs the next execution on
    # the other. Two raw clients hold the sessions in turn to steer it.
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        pytest.skip("server_side_binding and prepare_threshold are psycopg 3's")
    import psycopg2

    alias = add_alias(
        "bouncer_binding",
        {
            "ENGINE": "django_pool.backends.postgresql",
            "NAME": DATABASE,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(transaction_bouncer.port),
            "DISABLE_SERVER_SIDE_CURSORS": True,
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": prepare_threshold},
            "POOL": {"pool_size": 1, "max_overflow": 0, "pgbouncer": "transaction"},
        },
    )

    def holder():
        conn = psycopg2.connect(
            host="127.0.0.1", port=transaction_bouncer.port, user="postgres", dbname=DATABASE
        )
        conn.cursor().execute("SELECT pg_backend_pid()")  # BEGIN: holds a server session
        return conn

    def run_query() -> int:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid() + %s", [0])
            return cursor.fetchone()[0]

    first = holder()  # holds session A
    served_by = {run_query() for _ in range(8)}  # all on session B: prepared there
    second = holder()  # now holds session B
    first.rollback()  # A is free: the next query runs there
    try:
        if prepare_threshold is None:
            served_by.add(run_query())
            assert len(served_by) == 2  # it did move to the other session, and worked
        else:
            with pytest.raises(DatabaseError) as info:
                run_query()
            assert "prepared statement" in str(info.value)
            assert "does not exist" in str(info.value)
    finally:
        second.rollback()
        first.close()
        second.close()
        connections[alias].close()


def test_server_check_does_not_compare_with_the_server_behind_pgbouncer(
    transaction_bouncer, add_alias
):
    # W001 compares the pool's bound with PostgreSQL's free slots; behind
    # PgBouncer the bound counts against max_client_conn instead.
    from django_pool.checks import check_server

    settings = {
        "ENGINE": "django_pool.backends.postgresql",
        "NAME": DATABASE,
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": str(transaction_bouncer.port),
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "POOL": {"pool_size": 1000, "max_overflow": 0},
    }
    add_alias("bouncer_unsaid", settings)
    add_alias(
        "bouncer_said", {**settings, "POOL": {**settings["POOL"], "pgbouncer": "transaction"}}
    )
    assert [w.id for w in check_server(databases=["bouncer_unsaid"])] == ["django_pool.W001"]
    assert check_server(databases=["bouncer_said"]) == []
