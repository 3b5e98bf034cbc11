"""Helpers the tests import: the server witness, session ids, threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections


class Server:
    """The database server's own view of our connections, from outside the pool."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.settings_dict = connections[alias].settings_dict
        self.vendor = connections[alias].vendor
        self._conn = self._connect()

    @property
    def database(self) -> str:
        return self.settings_dict["NAME"]

    def _connect(self):
        return _admin_connection(self.vendor, self.settings_dict)

    def database_exists(self, name: str) -> bool:
        """Return whether the server has a database called *name*."""
        if self.vendor == "postgresql":
            sql = "SELECT 1 FROM pg_database WHERE datname = %s"
        else:
            sql = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
        return bool(self._rows(sql, (name,)))

    def drop_database(self, name: str) -> None:
        """Drop database *name* if it exists (a test's leftover)."""
        quote = '"' if self.vendor == "postgresql" else "`"
        self._conn.cursor().execute(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")

    def execute(self, sql: str) -> None:
        """Run *sql* (DDL, GRANT...) as the administrator."""
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def session_ids(self) -> set[int]:
        """Return the server's ids of the sessions connected to the test database."""
        if self.vendor == "postgresql":
            sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        else:
            sql = (
                "SELECT ID FROM information_schema.PROCESSLIST "
                "WHERE DB = %s AND ID <> CONNECTION_ID()"
            )
        return {row[0] for row in self._rows(sql, (self.database,))}

    def count(self) -> int:
        """Return how many sessions are connected to the test database."""
        return len(self.session_ids())

    def kill_all(self) -> int:
        """Kill every session connected to the test database; return how many."""
        ids = self.session_ids()
        for session in ids:
            if self.vendor == "postgresql":
                self._rows("SELECT pg_terminate_backend(%s)", (session,))
            else:
                try:
                    self._rows(f"KILL {int(session)}")
                except Exception as err:  # noqa: BLE001 - it may have gone already
                    if err.args[0] != 1094:  # unknown thread id
                        raise
        self.wait_until(lambda: not (self.session_ids() & ids), "killed sessions to go")
        return len(ids)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Poll *condition* until true; fail after *timeout* seconds.

        The server ends a session asynchronously after the client closes it;
        this waits for that fact, it does not guess a delay.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)

    def close(self) -> None:
        self._conn.close()


def session_id(alias: str) -> int:
    """Return the server's id for the calling thread's connection to *alias*."""
    connection = connections[alias]
    if connection.vendor == "sqlite":
        connection.cursor().close()  # as a query would: health check, then connect
        return id(connection.connection)
    sql = (
        "SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT CONNECTION_ID()"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def join(thread: threading.Thread, timeout: float = 30) -> None:
    """Join *thread*, then wait until its OS thread has ended too (Linux; elsewhere, join).

    ``Thread.join()`` returns before the OS thread has run its thread-local
    destructors, and OpenSSL's (any thread that used hashlib) takes a
    process-wide lock: a fork in that window leaves the child a lock nobody
    will release, and the child hangs at its exit. The tests fork right after
    their threads are joined.
    """
    thread.join(timeout)
    assert not thread.is_alive(), f"{thread.name} still runs after {timeout} s"
    task = f"/proc/self/task/{thread.native_id}"
    deadline = time.monotonic() + timeout
    while os.path.exists(task):
        assert time.monotonic() < deadline, f"{thread.name}'s OS thread still runs"
        time.sleep(0.0001)


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in *count* threads at once; return results, re-raise the first error."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            for connection in connections.all(initialized_only=True):
                connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"worker-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread)
    if errors:
        raise errors[0]
    return results


def hold_at_once(alias: str, count: int) -> set[int]:
    """Have *count* threads each hold a connection to *alias* until all do.

    The pool must then open *count* distinct connections; a thread that
    finished early would otherwise hand its one to the next. Return their
    session ids; all are back in the pool when this returns.
    """
    together = threading.Barrier(count, timeout=30)

    def hold(i: int) -> int:
        held = session_id(alias)
        together.wait()
        return held

    return set(run_threads(count, hold))


def sqlite_wrapper(name: str, alias: str, **settings: Any):
    """Return a private pooled SQLite wrapper (not in django.db.connections)."""
    from django.db.utils import load_backend

    settings_dict = {
        "NAME": name,
        "CONN_MAX_AGE": 0,
        "OPTIONS": {},
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
        **settings,
    }
    return load_backend("django_pool.backends.sqlite3").DatabaseWrapper(settings_dict, alias=alias)


def _admin_connection(vendor: str, settings_dict: dict[str, Any], database: str | None = None):
    """Return an autocommit DB-API connection to the server of *settings_dict*."""
    s = settings_dict
    if vendor == "postgresql":
        from django.db.backends.postgresql.base import Database

        conn = Database.connect(
            dbname=database or "postgres",
            user=s["USER"],
            password=s["PASSWORD"],
            host=s["HOST"],
            port=s["PORT"],
        )
        conn.autocommit = True
        return conn
    import MySQLdb

    kwargs = {"database": database} if database else {}
    return MySQLdb.connect(
        user=s["USER"],
        password=s["PASSWORD"],
        host=s["HOST"],
        port=int(s["PORT"]),
        autocommit=True,
        **kwargs,
    )


class ScratchDatabase:
    """A database of this run's own on a test server: created, then dropped with its sessions.

    Tests that count a database's sessions count them on one of these, so a
    client connected to any other database (an idle ``psql`` on ``test``)
    changes nothing.
    """

    def __init__(self, alias: str, name: str) -> None:
        self.vendor = connections[alias].vendor
        self.settings_dict = connections[alias].settings_dict
        self.name = name
        admin = _admin_connection(self.vendor, self.settings_dict)
        try:
            cursor = admin.cursor()
            quoted = f'"{name}"' if self.vendor == "postgresql" else f"`{name}`"
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cursor.execute(f"CREATE DATABASE {quoted}")
        finally:
            admin.close()

    def drop(self) -> None:
        """Drop the database, ending any session still on it."""
        admin = _admin_connection(self.vendor, self.settings_dict)
        try:
            cursor = admin.cursor()
            if self.vendor == "postgresql":
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            else:
                cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        finally:
            admin.close()


class ForeignSessions:
    """Idle sessions of another client on the database ``test`` of each given server.

    What a developer's ``psql`` left open: tests that count sessions must not
    see them. ``test`` is created if missing (and then dropped afterwards).
    """

    def __init__(self, aliases: list[str], database: str = "test") -> None:
        self.database = database
        self._held: list[Any] = []
        self._created: list[ScratchDatabase] = []
        for alias in aliases:
            vendor = connections[alias].vendor
            settings_dict = connections[alias].settings_dict
            try:
                conn = _admin_connection(vendor, settings_dict, database)
            except Exception:  # noqa: BLE001 - the database is missing: make it
                self._created.append(ScratchDatabase(alias, database))
                conn = _admin_connection(vendor, settings_dict, database)
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            self._held.append(conn)

    def close(self) -> None:
        """Close the sessions (and drop ``test`` if this created it)."""
        for conn in self._held:
            conn.close()
        for scratch in self._created:
            scratch.drop()


def in_a_thread(call: Callable[[], Any]) -> Any:
    """Run *call* in a thread of its own (with its own connections); return its result or raise."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as err:  # noqa: BLE001 - re-raised below
            box.append(err)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    join(thread)
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]
